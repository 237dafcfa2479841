"""Synthetic venues, customers and events for demos and benchmarks (numpy only, no Django)."""

from customer_intel.demo.chunks import *  # noqa: F403
