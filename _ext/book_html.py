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
"""


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
    # docutils gives the bibliography role="list" without list items, which assistive
    # technology cannot read as a list (axe: aria-required-children)
    body = context.get("body", "").replace(
        '<div role="list" class="citation-list">', '<div class="citation-list">')
    # MyST-NB names every "Show code cell source" toggle "Toggle hidden content", which
    # differs from what a sighted reader sees (axe: label-content-name-mismatch); without
    # the aria-label the visible text is the name.
    context["body"] = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def setup(app):
    # early: emit_firstresult stops at the first handler that returns a template name
    app.connect("html-page-context", _once, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
