"""A deployed web site as a source: every response a browser could download from it.

``crawler.crawl`` walks the site from its start URLs and yields each response
(``Fetched``) with the ``ScanTarget`` it is scanned as; ``links`` says what each
response leads to (HTML through selectolax, JavaScript, source maps and manifests
through small patterns over their literal strings); ``fetch`` gets one URL with
httpx inside the scope and limits; ``encoding`` undoes ``Content-Encoding`` within
the decompression budget every container shares. Nothing here runs JavaScript.
"""

from keysentry.sources.site.crawler import Fetched, crawl
from keysentry.sources.site.options import SiteOptions

__all__ = ["Fetched", "SiteOptions", "crawl"]
