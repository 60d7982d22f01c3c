"""``python -m auditor.cli``: the kube-auditor command line."""

from . import main

main()
