"""Test harnesses that run real Kubernetes components for the test suite.

``apiserver`` starts a real etcd + kube-apiserver (built by
e2e/build-binaries.sh); ``pki`` and ``procs`` are its certificate and
process-lifecycle helpers. See docs/development.md.
"""
