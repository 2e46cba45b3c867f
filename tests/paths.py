"""Paths every test layer uses."""

from release_assets.settings import CHECKOUT_ROOT

NORTHSTAR = CHECKOUT_ROOT / "examples" / "northstar"
"""The example pipelines repository the demo and the tests release."""
# Runtime venvs are content-addressed and expensive: tests share the checkout's cache.
SHARED_RUNTIMES = CHECKOUT_ROOT / ".state" / "runtimes"
"""Where the Airflow runtime virtualenvs are built (by ``make runtime``) and shared."""
