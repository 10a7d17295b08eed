"""A deployed web site as a source: every response a browser could download from it.

``crawler.crawl`` walks the site from its start URLs; workers (``workers``) fetch
each URL (``fetch``: httpx, inside the scope and limits), tell what it leads to
(``links``: HTML through selectolax, JavaScript, source maps and manifests through
small patterns over their literal strings) and scan its body with the caller's
``scan``, where the body was read; ``encoding`` undoes ``Content-Encoding`` within
the decompression budget every container shares. Nothing here runs JavaScript.
"""

from keysentry.sources.site.crawler import Outcome, crawl
from keysentry.sources.site.options import SiteOptions
from keysentry.sources.site.visit import Fetched

__all__ = ["Fetched", "Outcome", "SiteOptions", "crawl"]
