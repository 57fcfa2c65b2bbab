"""The newsfold Scrapy project: settings, items, spiders and commands."""
