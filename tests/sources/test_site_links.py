"""What the crawler follows: links from HTML, JavaScript, CSS, manifests, robots and sitemaps."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from keysentry.sources.site import links
from keysentry.sources.site.links import Kind
from keysentry.sources.site.scope import Scope, normalize, resolve

BASE = "https://app.example.com/shop/index.html"


def urls(found: links.Found, guessed: bool | None = None) -> dict[str, Kind]:
    return {
        link.url: link.kind for link in found.links if guessed is None or link.guessed is guessed
    }


def test_html_scripts_preloads_manifests_import_maps_and_pages():
    html = b"""<!doctype html><html><head><base href="/shop/">
    <script type="module" src="assets/main.js"></script>
    <link rel="modulepreload" href="/shop/assets/vendor.js">
    <link rel="preload" as="script" href="assets/pre.js">
    <link rel="prefetch" href="assets/later.js">
    <link rel="preload" as="font" href="assets/font.woff2">
    <link rel="stylesheet" href="assets/app.css">
    <link rel="manifest" href="/site.webmanifest">
    <script type="importmap">{"imports": {"lib": "/shop/lib/lib.js", "dir/": "/x/"},
      "scopes": {"/a/": {"b": "https://cdn.example.com/b.js"}}}</script>
    <script>import("./assets/lazy.js"); new Worker("/shop/w.js")</script>
    </head><body><a href="about">About</a><a href="https://other.example/x">x</a>
    <a href="javascript:alert(1)">js</a><a href="file:///etc/passwd">f</a>
    <a href="mailto:a@b.c">m</a><a href="#top">top</a><iframe src="/frame"></iframe>
    </body></html>"""
    found = urls(links.html_links(html, BASE))
    assert found == {
        "https://app.example.com/shop/assets/main.js": Kind.SCRIPT,
        "https://app.example.com/shop/assets/vendor.js": Kind.SCRIPT,
        "https://app.example.com/shop/assets/pre.js": Kind.SCRIPT,
        "https://app.example.com/shop/assets/later.js": Kind.SCRIPT,
        "https://app.example.com/shop/assets/app.css": Kind.STYLE,
        "https://app.example.com/site.webmanifest": Kind.MANIFEST,
        "https://app.example.com/shop/lib/lib.js": Kind.SCRIPT,
        "https://cdn.example.com/b.js": Kind.SCRIPT,
        "https://app.example.com/shop/assets/lazy.js": Kind.SCRIPT,
        "https://app.example.com/shop/w.js": Kind.SCRIPT,
        "https://app.example.com/shop/about": Kind.PAGE,
        "https://other.example/x": Kind.PAGE,
        "https://app.example.com/frame": Kind.PAGE,
    }


def test_next_data_names_the_build_manifest():
    data = {"buildId": "Xy12", "props": {}}
    html = (
        b'<script id="__NEXT_DATA__" type="application/json">'
        + json.dumps(data).encode()
        + b"</script>"
    )
    assert urls(links.html_links(html, BASE), guessed=True) == {
        "https://app.example.com/_next/static/Xy12/_buildManifest.js": Kind.SCRIPT,
        "https://app.example.com/_next/static/Xy12/_ssgManifest.js": Kind.SCRIPT,
    }


def test_invalid_html_and_invalid_utf8_are_read_like_a_browser():
    html = b"\xff\xfe<html><scr<ipt><div <<<><script src=/a.js></script><a href=/p\xc3(>x"
    found = urls(links.html_links(html, BASE))
    assert "https://app.example.com/a.js" in found


def test_javascript_imports_workers_service_workers_and_import_scripts():
    js = (
        b'import{a as b}from"./dep.js";import"./side.js";export*from"../up.js";'
        b'const c=()=>import("./chunks/lazy-AB12.js");'
        b'new Worker(new URL("./worker.js",import.meta.url));'
        b'navigator.serviceWorker.register("/sw.js");'
        b'importScripts("a.js","b.js");import("react");'
    )
    script = "https://app.example.com/assets/main.js"
    page = "https://app.example.com/shop/"
    found = urls(links.js_links(js, script, page), guessed=False)
    assert found == {
        "https://app.example.com/assets/dep.js": Kind.SCRIPT,
        "https://app.example.com/assets/side.js": Kind.SCRIPT,
        "https://app.example.com/up.js": Kind.SCRIPT,
        "https://app.example.com/assets/chunks/lazy-AB12.js": Kind.SCRIPT,
        "https://app.example.com/assets/worker.js": Kind.SCRIPT,
        "https://app.example.com/sw.js": Kind.SCRIPT,
        "https://app.example.com/assets/a.js": Kind.SCRIPT,
        "https://app.example.com/assets/b.js": Kind.SCRIPT,
    }


def test_webpack_chunk_url_builder_with_a_literal_chunk_list():
    runtime = (
        b'r.p="/_next/";r.u=e=>"static/chunks/"+({96:"framework",7:"main"}[e]||e)+"."'
        b'+{7:"1a2b3c",96:"4d5e6f",123:"789abc"}[e]+".js";'
    )
    found = urls(links.js_links(runtime, "https://app.example.com/_next/static/chunks/w.js", None))
    for name in ("framework.4d5e6f", "main.1a2b3c", "123.789abc"):
        assert found[f"https://app.example.com/_next/static/chunks/{name}.js"] is Kind.SCRIPT


def test_bundler_asset_paths_are_resolved_against_the_build_root_only():
    """Vite writes deps relative to its base: "assets/x.js" in /app/assets/index.js."""
    js = (
        b'__vitePreload(()=>import("./Page-1.js"),["assets/Page-1.js","assets/Page-1.css"]);'
        b'define("vs/base/worker.js");x="typescript.js";require("../node_modules/a/b.js")'
    )
    found = {
        link.url: link.guessed
        for link in links.js_links(js, "https://app.example.com/app/assets/index.js", None).links
    }
    assert found == {
        "https://app.example.com/app/assets/Page-1.js": False,  # import() says so
        "https://app.example.com/app/assets/Page-1.css": True,
    }


def test_source_map_comments_old_and_new_and_inline_ones_skipped():
    script = "https://app.example.com/a/app.js"
    for comment in (b"//# sourceMappingURL=app.js.map", b"//@ sourceMappingURL=app.js.map"):
        assert urls(links.js_links(b"x=1;\n" + comment, script, None)) == {
            "https://app.example.com/a/app.js.map": Kind.MAP
        }
    inline = b"x=1;\n//# sourceMappingURL=data:application/json;base64,e30="
    assert urls(links.js_links(inline, script, None)) == {}
    css = b"@import url('base.css');\n/*# sourceMappingURL=app.css.map */"
    assert urls(links.css_links(css, "https://app.example.com/a/app.css")) == {
        "https://app.example.com/a/base.css": Kind.STYLE,
        "https://app.example.com/a/app.css.map": Kind.MAP,
    }


def test_manifests_vite_asset_manifest_and_web_manifest():
    vite = {"src/main.ts": {"file": "assets/main-1.js", "css": ["assets/main-1.css"]}}
    found = urls(
        links.json_links(json.dumps(vite).encode(), "https://s.example/.vite/manifest.json")
    )
    assert found["https://s.example/assets/main-1.js"] is Kind.SCRIPT
    assert found["https://s.example/assets/main-1.css"] is Kind.STYLE
    cra = {"files": {"main.js": "/static/js/main.1.js", "main.js.map": "/static/js/main.1.js.map"}}
    found = urls(
        links.json_links(json.dumps(cra).encode(), "https://s.example/asset-manifest.json")
    )
    assert found["https://s.example/static/js/main.1.js.map"] is Kind.MAP
    web = {"start_url": "/app/", "icons": [{"src": "/i.png"}]}
    found = urls(links.json_links(json.dumps(web).encode(), "https://s.example/manifest.json"))
    assert found == {"https://s.example/app/": Kind.PAGE}


def test_robots_txt_and_sitemaps_seed_pages():
    robots = b"User-agent: *\nDisallow: /admin/\nDisallow: /*.pdf$\nSitemap: /sitemap-index.xml\n"
    found, lines = links.robots_links(robots, "https://s.example/robots.txt")
    assert urls(found) == {
        "https://s.example/admin/": Kind.PAGE,
        "https://s.example/sitemap-index.xml": Kind.SITEMAP,
    }
    assert len(lines) == 4
    sitemap = (
        b'<?xml version="1.0"?><urlset><url><loc>https://s.example/a</loc></url>'
        b"<url><loc> https://s.example/b.xml </loc></url></urlset>"
    )
    assert urls(links.sitemap_links(sitemap, "https://s.example/sitemap.xml")) == {
        "https://s.example/a": Kind.PAGE,
        "https://s.example/b.xml": Kind.SITEMAP,
    }


def test_links_past_the_cap_are_counted_not_kept():
    page = b"".join(b'<a href="/p/%d">x</a>' % i for i in range(links.MAX_LINKS + 500))
    found = links.html_links(page, BASE)
    assert len(found.links) == links.MAX_LINKS
    assert found.dropped == 500


def test_scope_and_urls():
    scope = Scope(["https://App.Example.com:443/x"], ("https://cdn.example.com",))
    assert scope.allows_page("https://app.example.com/y")
    assert not scope.allows_page("https://cdn.example.com/y")
    assert scope.allows_asset("https://cdn.example.com/y.js")
    assert not scope.allows_asset("http://app.example.com/y.js")  # another scheme
    assert not scope.allows_asset("https://app.example.com:8443/y.js")  # another port
    assert normalize("HTTPS://App.Example.com#frag") == "https://app.example.com/"
    for bad in ("javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "mailto:a@b"):
        assert resolve(BASE, bad) is None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(["html", "js", "json", "css", "sitemap"]))
def test_any_bytes_give_links_or_nothing_never_an_exception(data, kind):
    url = "https://s.example/a/b.js"
    if kind == "html":
        found = links.html_links(data, url)
    elif kind == "js":
        found = links.js_links(data, url, None)
    elif kind == "json":
        found = links.json_links(data, url)
    elif kind == "css":
        found = links.css_links(data, url)
    else:
        found = links.sitemap_links(data, url)
    for link in found.links:
        assert link.url.startswith(("http://", "https://"))
