"""Fixes to the HTML that Jupyter Book 1.x's theme writes, so that every page loads
without a console error (the browser tests check this):

* sphinx-thebe adds its inline configuration script twice (`const THEBE_JS_URL` declared
  twice is a SyntaxError in the browser): keep each script once.
* pydata-sphinx-theme writes `localStorage.getItem("mode") || ""` when no default colour
  mode is configured, and then reports "invalid theme mode": give it "auto".
* the bibliography list carries an ARIA role its children do not match, and MyST-NB's
  code toggles an accessible name that differs from their visible text (below).
Two theme components with accessible names that differ from their visible text are
overridden in _templates/.

For a light first visit (tests/test_weight.py) and a useful download:

* `_templates/static/webpack-macros.html` drops the theme's `fontawesome.js` (0.54 MB
  gzipped); the icons are drawn by the theme's stylesheet from Font Awesome's web fonts,
  which `subset_icon_fonts` cuts down, after the build, to the icons the site uses (and
  the stylesheet's rules likewise).
* the `.ipynb` each chapter offers for download is, in `cache` execution mode, written by
  MyST-NB without outputs (it writes the notebook it read, not the one merged with the
  cache); `notebooks_with_outputs` fills in the outputs of the build from the cache.
* the mathematics is rendered to HTML when the book is built (sphinxcontrib-katex's
  prerendering, with node), so a page needs no MathJax (0.26 MB gzipped, plus its fonts)
  and no script to show an equation; `katex_assets` serves KaTeX's stylesheet and fonts
  from npm's `katex` of the version that the wheel bundles (installed in the virtual
  node_modules by `npm ci`, pinned in package-lock.json).
* script files are deferred (here, and Sphinx's search scripts in _templates/layout.html),
  so that a page paints before they have arrived.
* images in the text are loaded lazily (`loading="lazy"`), as the reader scrolls to them.
* `_ext/static/book.css`: a display equation wider than a phone's screen scrolls inside its
  own box (the theme clips it); tables already do, in the theme's scrolling container.
* `_ext/static/book-print.css` lays pages out for the book's PDF (tools/make_pdf.py).

For a faster build:

* sphinxcontrib-bibtex asks pybtex for its plain-text backend once per citation (about 400
  times), and pybtex looks each time through every installed distribution's entry points
  (about 10 ms a time: some 4 s of a cold build). `remember_pybtex_backend` registers the
  installed backend class with pybtex's own `register_plugin`, which pybtex looks up first:
  the same class, found once.
* tools/build_book.py has Sphinx read the pages on one process per core. sphinx-external-toc loads
  sphinx-multitoc-numbering, which does not say whether it is safe for parallel reading,
  so Sphinx would read serially (and warn, which -W makes an error). It is safe: it only
  replaces the toctree collector's `assign_section_numbers`, which Sphinx calls in the main
  process after the documents read in parallel are merged (and the book has no numbered
  toctree); `declare_multitoc_parallel_safe` says so. tests/test_build.py checks that the
  pages built on two processes are those built on one.
* Sphinx writes the pages on one process all the same (`write_serially`): the writers it
  would fork each start sphinxcontrib-katex's node server, which their exit does not stop
  (they end without Python's exit handlers), and its start-up can be refused when the
  machine is busy (the server's socket file appears before it listens).
* That start-up, in sphinxcontrib-katex 0.9.11, connects to the node server once, as soon
  as its socket file appears; refused, the build fails and the node process is left
  running, holding the build's output open (a caller reading that output, as the tests do,
  then waits for ever: it happened once in CI). `start_katex_reliably` connects again until
  the start-up timeout and stops the process if it never answers.
"""

import html
import re
import shutil
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
KATEX_ERROR = re.compile(r'class="katex-error" title="([^"]*)"')
LAZY_IMAGE = re.compile(r"<img (?![^>]*\bloading=)")


def _once(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (str(getattr(script, "filename", script) or ""), attributes.get("body"))  # None == ""
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # in place: later handlers (MathJax's among them) append to this very list
    context["script_files"][:] = unique
    # script files run after the page is parsed (`defer`, in order), so they no longer hold
    # up its first paint; documentation_options.js stays: inline scripts use what it defines.
    # Not on the search page, whose own searchtools.js runs at once and needs doctools.js.
    # (A copy of each script object: the builder shares them between pages.)
    for index, script in enumerate(unique if pagename != "search" else []):
        attributes = getattr(script, "attributes", None)
        filename = str(getattr(script, "filename", "") or "")
        if (attributes is not None and filename and "body" not in attributes
                and not {"async", "defer"} & set(attributes)
                and not filename.endswith("documentation_options.js")):
            context["script_files"][index] = type(script)(
                script.filename, priority=script.priority, **attributes, defer="defer")
    # docutils gives the bibliography role="list" without list items, which assistive
    # technology cannot read as a list (axe: aria-required-children)
    body = context.get("body", "").replace(
        '<div role="list" class="citation-list">', '<div class="citation-list">')
    # MyST-NB names every "Show code cell source" toggle "Toggle hidden content", which
    # differs from what a sighted reader sees (axe: label-content-name-mismatch); without
    # the aria-label the visible text is the name.
    body = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    # images in the text load when the reader scrolls near them, not all on arrival: the
    # first visit transfers only what the first screens show (tests/test_weight.py);
    # tools/make_pdf.py loads them all before printing
    context["body"] = LAZY_IMAGE.sub('<img loading="lazy" decoding="async" ', body)
    # KaTeX renders what it cannot parse in red (throwOnError is off): make it a warning,
    # which fails the -W build
    for error in KATEX_ERROR.findall(body):
        LOGGER.warning("%s: KaTeX could not render %s", pagename, html.unescape(error))
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:(?::)?before,?)+)\{content:"\\([0-9a-f]{4,5})"\}')
ICON_CLASS = re.compile(r"\bfa-[a-z0-9-]+")
FONT_FOLDER = Path("_static") / "vendor" / "fontawesome" / "webfonts"


def icon_classes_in_use(outdir: Path) -> set[str]:
    """Every `fa-...` class named in the site's HTML and scripts."""
    names: set[str] = set()
    for source in list(outdir.rglob("*.html")) + list((outdir / "_static").rglob("*.js")):
        names |= set(ICON_CLASS.findall(source.read_text(encoding="utf-8", errors="replace")))
    return names


def drop_unused_icon_rules(outdir: Path, used: set[str]) -> None:
    """Remove the theme stylesheet's rules for icons the site never names (about 1,900 of
    them: 0.02 MB gzipped that every first visit waits for before it paints)."""
    stylesheet = outdir / "_static" / "styles" / "pydata-sphinx-theme.css"
    if stylesheet.is_file():
        text = stylesheet.read_text(encoding="utf-8")
        kept = ICON_RULE.sub(lambda rule: rule.group(0) if used & set(ICON_CLASS.findall(rule.group(1)))
                             else "", text)
        stylesheet.write_text(kept, encoding="utf-8")


def icons_in_use(outdir: Path) -> set[int]:
    """The code points of every Font Awesome icon the built site can show: the icon classes
    named in its HTML and scripts, and every icon glyph its stylesheets use directly
    (admonition and link icons, written as literal private-use characters or escapes)."""
    named: dict[str, set[int]] = {}
    direct: set[int] = set()
    for css in (outdir / "_static").rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        for selectors, code in ICON_RULE.findall(text):
            for name in ICON_CLASS.findall(selectors):
                named.setdefault(name, set()).add(int(code, 16))
        rest = ICON_RULE.sub("", text)
        direct |= {int(c, 16) for c in re.findall(r"\\([ef][0-9a-f]{3})\b", rest)}
        direct |= {ord(c) for c in rest if 0xE000 <= ord(c) <= 0xF8FF}
    used = set(direct)
    for name in icon_classes_in_use(outdir):
        used |= named.get(name, set())
    return used


def subset_icon_fonts(app, exception):
    """Cut Font Awesome's web fonts (0.3 MB of woff2) down to the icons the site uses."""
    if exception is not None or app.builder.format != "html":
        return
    from fontTools import subset

    outdir = Path(app.outdir)
    unicodes = sorted(icons_in_use(outdir))
    drop_unused_icon_rules(outdir, icon_classes_in_use(outdir))
    for font_file in sorted((outdir / FONT_FOLDER).glob("*.*")):
        if font_file.suffix not in (".woff2", ".ttf"):
            continue
        options = subset.Options()
        options.flavor = "woff2" if font_file.suffix == ".woff2" else None
        options.layout_features = ["*"]
        options.notdef_outline = True
        options.ignore_missing_unicodes = True
        font = subset.load_font(str(font_file), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
        subset.save_font(font, str(font_file), options)


def notebooks_with_outputs(app, exception):
    """Put the build's outputs into the notebooks offered for download (_sources/*.ipynb).

    MyST-NB 1.x, in `cache` mode, merges the cached outputs into a copy of the notebook and
    writes the original to jupyter_execute/, from which the theme copies the download; the
    outputs are taken here from the same jupyter-cache record the page was rendered from."""
    if exception is not None or app.builder.format != "html":
        return
    import nbformat
    from jupyter_cache import get_cache

    cache_path = getattr(app.config, "nb_execution_cache_path", "")
    if not cache_path or not Path(cache_path).exists():
        return
    cache = get_cache(cache_path)
    for download in sorted((Path(app.outdir) / "_sources").rglob("*.ipynb")):
        notebook = nbformat.read(download, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        if not code or any(cell.get("outputs") for cell in code):
            continue  # nothing to fill in, or executed in place (`force` mode)
        try:
            _, merged = cache.merge_match_into_notebook(notebook)
        except KeyError:  # no cache record for this notebook: leave it as it is
            continue
        nbformat.write(merged, download)


def katex_dist() -> Path:
    """npm's katex, pinned in package-lock.json and installed by `npm ci` (the Makefile)."""
    return Path(__file__).resolve().parent.parent / "node_modules" / "katex" / "dist"


def katex_assets(app, config):
    """Serve KaTeX's stylesheet and fonts from the site (no CDN), checked to be the version
    that sphinxcontrib-katex prerenders with."""
    import json

    from sphinx.errors import ExtensionError
    from sphinxcontrib import katex

    dist = katex_dist()
    package = dist.parent / "package.json"
    if not package.is_file():
        raise ExtensionError(f"npm's katex is missing from {dist.parent}: `make book` installs "
                             f"it (npm ci; package.json pins katex {katex.katex_version})")
    version = json.loads(package.read_text())["version"]
    if version != katex.katex_version:
        raise ExtensionError(f"npm's katex is {version}, sphinxcontrib-katex renders with "
                             f"{katex.katex_version}: install katex@{katex.katex_version}")
    static = Path(app.outdir).parent / "katex_static"
    target = static / "katex"
    shutil.rmtree(target, ignore_errors=True)
    (target / "fonts").mkdir(parents=True)
    shutil.copy2(dist / "katex.min.css", target / "katex.min.css")
    for font in (dist / "fonts").glob("*.woff2"):  # the first format every browser takes
        shutil.copy2(font, target / "fonts" / font.name)
    config.html_static_path.append(str(static))
    config.katex_css_path = "katex/katex.min.css"
    # node runs the wheel's katex-server.js, a CommonJS script; a package.json with
    # "type": "module" above the virtual environment (the repository's own, for its
    # JavaScript) would make node read it as an ES module and fail. Run a copy from a
    # folder whose package.json says CommonJS.
    server = Path(app.outdir).parent / "katex_node"
    server.mkdir(parents=True, exist_ok=True)
    for script in ("katex-server.js", "katex.min.js"):
        shutil.copy2(katex.SRC_DIR / script, server / script)
    (server / "package.json").write_text('{"type": "commonjs"}\n')
    katex.SCRIPT_PATH = str(server / "katex-server.js")
    config.html_static_path.append(str(Path(__file__).parent / "static"))  # book*.css


def remember_pybtex_backend(app, config):
    from pybtex.plugin import find_plugin, register_plugin

    backend = find_plugin("pybtex.backends", "plaintext")
    register_plugin("pybtex.backends", "plaintext", backend, force=True)


def declare_multitoc_parallel_safe(app):
    extension = app.extensions.get("sphinx_multitoc_numbering")
    if extension is not None:
        extension.parallel_read_safe = True


def start_katex_reliably(app, config):
    import socket
    import subprocess
    import time

    from sphinxcontrib.katex import KaTeXServer

    def start_server_process(cls, rundir, timeout):
        # as sphinxcontrib-katex 0.9.11's, with the connection tried until the deadline
        socket_path = rundir / "katex.sock"
        process = subprocess.Popen(cls.build_command(socket=socket_path), stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, cwd=rundir)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if socket_path.is_socket():
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        sock.settimeout(max(deadline - time.monotonic(), 0.01))
                        sock.connect(str(socket_path))
                        sock.settimeout(None)
                        return process, sock
                    except (ConnectionRefusedError, FileNotFoundError):
                        sock.close()
                    except TimeoutError:
                        sock.close()
                        raise cls.timeout_error(timeout) from None
                if time.monotonic() > deadline or process.poll() is not None:
                    raise cls.timeout_error(timeout)
                time.sleep(0.001)
        except BaseException:
            process.kill()
            process.wait()
            raise

    KaTeXServer.start_server_process = classmethod(start_server_process)


def write_serially(app, env):
    app.parallel = 1  # read on several processes (above), write on this one


def setup(app):
    app.connect("config-inited", remember_pybtex_backend)
    app.connect("config-inited", start_katex_reliably)
    app.connect("env-updated", write_serially)
    app.connect("builder-inited", declare_multitoc_parallel_safe)
    # early: emit_firstresult stops at the first handler that returns a template name
    app.connect("html-page-context", _once, priority=100)
    app.connect("config-inited", katex_assets)
    app.add_css_file("book.css")
    app.add_css_file("book-print.css", media="print")
    app.connect("build-finished", notebooks_with_outputs)
    app.connect("build-finished", subset_icon_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
