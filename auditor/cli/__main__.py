"""``python -m auditor.cli``: the kube-auditor command line."""

from . import main

if __name__ == "__main__":  # not when a spawned worker process imports it
    main()
