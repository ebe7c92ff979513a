"""Two fixes to the HTML that Jupyter Book 1.x's theme writes, so that every page loads
without a console error (the browser tests check this):

* sphinx-thebe adds its inline configuration script twice (`const THEBE_JS_URL` declared
  twice is a SyntaxError in the browser): keep each script once.
* pydata-sphinx-theme writes `localStorage.getItem("mode") || ""` when no default colour
  mode is configured, and then reports "invalid theme mode": give it "auto".
"""


def _once(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (str(getattr(script, "filename", script)), attributes.get("body"))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def setup(app):
    app.connect("html-page-context", _once, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
