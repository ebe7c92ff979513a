"""The `parameter-appendix` directive: the back matter's table of every model parameter.

parameters.md was a notebook page whose one cell turned the parameter records into text; it
is now made when the page is read, from `tmebook.parameters.parameter_appendix()` (the same
records that the chapters' tables and the sliders use), and parsed as MyST so that its
citations and maths render as they do in the chapters. A page that runs nothing saves every
cold build a kernel: about 1.8 s of CPU (its start, the imports of every model module).

The page is read again when any module of the package changes (each is noted as a
dependency of the page).
"""

from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent


class ParameterAppendix(SphinxDirective):
    has_content = False

    def run(self):
        from tmebook.parameters import (
            parameter_appendix,  # only a build with the page pays
        )

        for module in sorted((ROOT / "tmebook").glob("*.py")):
            self.env.note_dependency(str(module))
        text = parameter_appendix()
        holder = nodes.container()
        self.state.nested_parse(StringList(text.splitlines(), source=self.get_source_info()[0]),
                                self.content_offset, holder)
        return holder.children


def setup(app):
    app.add_directive("parameter-appendix", ParameterAppendix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
