"""Browser tests: the dashboard in headless Chromium, as a person would use it."""
