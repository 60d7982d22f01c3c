"""``python -m auditor``: the kube-auditor command line."""

from .cli import main

main()
