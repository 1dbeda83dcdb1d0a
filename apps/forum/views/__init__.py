"""HTML views of the forum: thin wrappers around selectors and services."""
