"""The app's views: each a QWidget that only displays; the work is done in `zoo`."""
