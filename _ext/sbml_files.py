"""Write the SBML files of the book's ODE models when a build starts.

The files (tmebook.sbml.FILES) are made from the parameter records the chapters use, so
they can never fall behind the book; each is checked by libSBML first (a consistency error
stops the build). They go to `_generated/sbml/` in the book's source folder, from where the
chapters offer them with the `{download}` role: Sphinx copies each into the site's
`_downloads/`. A file whose text has not changed is not rewritten.

The files depend only on the model package, references.bib (the DOIs) and the pinned
packages (libSBML among them): their hash is kept beside the files, and while it is the
same and every file is there, a build does not make them again (about 1.2 s of a rebuild:
importing libSBML and writing ten files).
"""

import hashlib
from pathlib import Path

FOLDER = Path("_generated") / "sbml"
STAMP = ".sources-sha256"


def sources_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "tmebook").glob("*.py")) + [root / "references.bib",
                                                             root / "requirements.txt"]:
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _write(app):
    root = Path(app.srcdir)
    folder = root / FOLDER
    stamp = folder / STAMP
    digest = sources_hash(root)
    expected = folder / "expected-files.txt"
    if stamp.is_file() and stamp.read_text() == digest and expected.is_file() \
            and all((folder / name).is_file() for name in expected.read_text().split()):
        return
    # imported here, not when the extension loads: only a build that needs it pays for it
    from tmebook import sbml

    written = sbml.write_files(folder)
    expected.write_text("\n".join(path.name for path in written) + "\n")
    stamp.write_text(digest)


def setup(app):
    app.connect("builder-inited", _write)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
