"""Scrapy settings for newsfold.

Every newsfold setting is documented here with a one-line comment; each component's
module docstring lists the settings it reads. Override any of them with `-s NAME=VALUE`.
"""

import os

BOT_NAME = "newsfold"

SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# --- Politeness and fetching (web spiders) ---------------------------------------------
# Contact URL put into the User-Agent so site operators can reach whoever runs the crawl.
NEWSFOLD_CONTACT_URL = "https://github.com/newsfold/newsfold"
USER_AGENT = f"newsfold/0.1 (+{NEWSFOLD_CONTACT_URL})"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
# Responses and local files larger than this many bytes are rejected (`too_large`).
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]

# --- Crawling (feeds, sitemap, urls spiders) ---------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.PrivateAddressGuard": 50,
    "crawler.middlewares.IncrementalCrawlMiddleware": 60,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.SharedRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "crawler.middlewares.ContactUserAgentMiddleware": 500,
}
# Allow requests to loopback, private, link-local and cloud-metadata addresses (tests only).
ALLOW_PRIVATE_ADDRESSES = False
# Skip stored articles unless their listing says they changed; conditional GET for listings.
CRAWL_INCREMENTAL = True
# Seconds before the first retry when the server sent no Retry-After; doubles each retry.
RETRY_BACKOFF_BASE = 1.0
# Longest backoff wait, in seconds.
RETRY_BACKOFF_MAX = 60.0
# A Retry-After longer than this many seconds means give up rather than wait.
RETRY_AFTER_MAX = 300.0
# How many levels of sitemap indexes the sitemap spider follows.
SITEMAP_MAX_DEPTH = 3

# --- Pipelines: spider -> extraction -> grouping -> storage ------------------------------
ITEM_PIPELINES = {
    "pipelines.extraction.ExtractionPipeline": 100,
    "pipelines.grouping.GroupingPipeline": 200,
    "pipelines.storage.StoragePipeline": 300,
}

EXTENSIONS = {
    "crawler.extensions.RunSummary": 500,
    "crawler.runhistory.RunHistoryRecorder": 510,
    "crawler.distributed.IdleStop": 520,
}

# --- Extraction ---------------------------------------------------------------------------
# Articles whose cleaned body has fewer words than this are rejected (`no_article_body`).
EXTRACTION_MIN_WORDS = 40
# trafilatura mode: "balanced", "precision" or "recall" (default: best body F1 in bench/extraction.py).
EXTRACTION_MODE = "recall"
# Keep tables found inside the article body.
EXTRACTION_INCLUDE_TABLES = True

# Worker processes extracting in parallel; None: one per core, 0: in the Scrapy process.
EXTRACTION_WORKERS = None
# Hard limit in seconds per document: a worker still busy after it is killed and replaced.
EXTRACTION_TIMEOUT = 30.0

# Use the page's JSON-LD articleBody when the extracted text misses most of it.
EXTRACTION_USE_JSON_LD_BODY = True
# Second trafilatura mode whose output wins when it is a longer near-superset ("" = one pass).
EXTRACTION_SECOND_MODE = "balanced"
# ...run only when the first pass kept less than this share of the page's words (1.0: always).
EXTRACTION_SECOND_PASS_BELOW = 0.6

# --- Grouping (near-duplicates and stories) ---------------------------------------------
# MinHash permutations; stored with every signature, changing it needs a re-index.
DEDUP_NUM_PERM = 128
# MinHash seed; stored with every signature.
DEDUP_SEED = 1
# Word n-gram size of the shingles compared for copies.
DEDUP_SHINGLE_SIZE = 5
# Keep one shingle in this many (those whose hash is 0 modulo it) for copy signatures.
DEDUP_SHINGLE_SAMPLE = 4
# LSH bands over the MinHash values (rows = DEDUP_NUM_PERM // DEDUP_COPY_BANDS).
DEDUP_COPY_BANDS = 42
# Containment of the shorter text in the longer above which one is a copy of the other.
DEDUP_COPY_CONTAINMENT = 0.6
# TF-IDF cosine (average over a story's reports) above which reports share a story.
DEDUP_STORY_SIMILARITY = 0.25
# Reports further apart in time than this many days never share a story.
DEDUP_STORY_WINDOW_DAYS = 3.0
# Highest-weighted terms of each article under which story candidates are looked up.
DEDUP_STORY_KEYTERMS = 10
# Bodies with fewer distinct content words than this are never copies, nor linked to each other.
DEDUP_MIN_CONTENT_WORDS = 15
# Language of the word frequencies that weight terms (a wordfreq language code).
DEDUP_LANGUAGE = "en"
# Save new signatures and links to the database every this many articles (and on close).
DEDUP_FLUSH_EVERY = 500
# Group up to this many items arriving together in one pass (signatures of all at once,
# linked in arrival order: the same decisions as one at a time, about twice as fast).
DEDUP_BATCH_SIZE = 64

# --- Operation (run history, health, schedule, distributed) ------------------------------
# Counts robots.txt refusals per site for `source_health` (sees every middleware's IgnoreRequest).
DOWNLOADER_MIDDLEWARES["crawler.runhistory.RobotsBlockCounter"] = 950
# Record every run in `crawl_runs` and its per-site counts in `source_health`.
RUN_HISTORY_ENABLED = True
# Name of the scheduled job a run belongs to (set by `scrapy schedule`; empty for runs by hand).
RUN_HISTORY_JOB = ""
# Unique key of the run (set by `scrapy schedule`; empty means a fresh random key).
RUN_HISTORY_RUN_KEY = ""
# Spider arguments to record, as a JSON object (empty: the `-a` options of the command line).
RUN_HISTORY_ARGUMENTS = ""
# `scrapy health`: earlier runs of a site its latest run is compared against.
HEALTH_WINDOW = 7
# `scrapy health`: earlier runs a site needs before it is judged at all.
HEALTH_MIN_HISTORY = 3
# `scrapy health`: flag a site whose latest run stored less than this fraction of its median.
HEALTH_YIELD_DROP = 0.5
# `scrapy health`: flag a site whose error rate rose by at least this much over its median (0..1).
HEALTH_ERROR_RATE_JUMP = 0.3
# `scrapy schedule`: the TOML job file (relative to the project root).
SCHEDULE_CONFIG = "seeds/schedule.toml"
# `scrapy schedule`: folder for each run's log file (relative to the project root).
SCHEDULE_LOG_DIR = "logs/schedule"
# Redis of the shared frontier (environment or -s): set, this process is one of many workers
# (the DistributedMode add-on then shares the scheduler, duplicate filter and grouping).
REDIS_URL = os.environ.get("REDIS_URL", "")
# Prefix of the frontier's Redis keys (environment or -s): all workers of one crawl use the same.
REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "newsfold")
# Seconds a distributed worker waits on an empty frontier before it stops (`idle_timeout`).
DISTRIBUTED_IDLE_TIMEOUT = 30.0
ADDONS = {"crawler.distributed.DistributedMode": 0}

# --- Storage --------------------------------------------------------------------------------
# SQLAlchemy URL of the database; empty means the SQLite file `newsfold.db` in the project root.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
# Articles written per transaction.
STORAGE_BATCH_SIZE = 100
# Seconds after which waiting articles are written even if the batch is not full.
STORAGE_FLUSH_SECONDS = 2.0
# Seconds the end of a run keeps retrying writes while the database is unreachable.
STORAGE_RETRY_SECONDS = 120.0
# Upgrade the database schema (Alembic) when a crawl starts; false: refuse to start on an
# older schema and leave upgrading to `scrapy migrate`.
STORAGE_AUTO_MIGRATE = True

LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

# --- Safety (hostile servers and secrets; README "Safety") ---------------------------------
# Every request gets an errback: timeouts, refused connections, bodies over DOWNLOAD_MAXSIZE,
# decompression bombs (gzipped listings included) and redirect loops are recorded in `rejects`.
SPIDER_MIDDLEWARES = {"crawler.guards.DownloadFailureRecorder": 60}
# A redirect back into its own chain is refused (`redirect_loop`) instead of silently dropped.
DOWNLOADER_MIDDLEWARES["crawler.guards.RedirectLoopGuard"] = 610
# Authorization and Cookie headers never follow a redirect off the first request's origin.
DOWNLOADER_MIDDLEWARES["crawler.guards.CrossHostHeaderGuard"] = 450
# Cookie domains judged by the public suffix list bundled with tldextract, never fetched.
DOWNLOADER_MIDDLEWARES["scrapy.downloadermiddlewares.cookies.CookiesMiddleware"] = None
DOWNLOADER_MIDDLEWARES["crawler.guards.OfflineCookiesMiddleware"] = 700
# With JOBDIR: a job whose last crawl was killed starts over (its saved queue is lost).
EXTENSIONS["crawler.guards.JobDirResumeGuard"] = 95
# Mask URL passwords, the database password and proxy credentials in every log line.
SAFETY_REDACT_LOGS = True
EXTENSIONS["crawler.guards.SecretRedaction"] = 90
# No way into a running crawl: Scrapy's telnet console and its remote-control server (an
# HTTP endpoint that runs Python code sent to it) stay off; an unattended crawl needs neither.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
