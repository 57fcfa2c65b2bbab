"""newsfold's own `scrapy` commands."""
