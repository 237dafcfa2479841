"""The operators' admin; each module registers the pages of one part of the data."""

from customer_intel.admin import venues  # noqa: F401 - registers the pages
