"""Write the SBML files of the book's ODE models when a build starts.

The files (tmebook.sbml.FILES) are made from the parameter records the chapters use, so
they can never fall behind the book; each is checked by libSBML first (a consistency error
stops the build). They go to `_generated/sbml/` in the book's source folder, from where the
chapters offer them with the `{download}` role: Sphinx copies each into the site's
`_downloads/`. A file whose text has not changed is not rewritten.
"""

from pathlib import Path

FOLDER = Path("_generated") / "sbml"


def _write(app):
    # imported here, not when the extension loads: only a build needs it
    from tmebook import sbml

    sbml.write_files(Path(app.srcdir) / FOLDER)


def setup(app):
    app.connect("builder-inited", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
