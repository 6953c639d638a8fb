"""The metrics end-to-end tests run against a real Prometheus scraping a real sandbox."""

from tests.support.prometheus import prometheus  # noqa: F401  (the fixture, for this folder)
