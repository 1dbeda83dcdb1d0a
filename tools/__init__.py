"""Repository tooling run by `make` and the test suite: licences, dependency audit, release notes."""
