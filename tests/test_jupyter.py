"""The chapters as a Binder user meets them: a real Jupyter server from this project's
virtual environment (made only from requirements.txt and postBuild), chapters opened as
notebooks through the server (jupytext), executed on a kernel through the server, and one
chapter driven in JupyterLab in chromium: open, run all, move a slider, see the figure change.

Each chapter is executed here once (its other execution in a test run is nbmake's): the
chapter that JupyterLab runs is not also run over the websocket; the JupyterLab test checks
on that kernel that every cell ran without an error.
"""

import asyncio
import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from build_book import chapters_in_toc

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = [p for p in chapters_in_toc() if p.parent.name == "chapters"]
LAB_CHAPTER = "chapters/05-hypoxia.md"  # the pattern chapter, run in JupyterLab
EXECUTION_TIMEOUT = 300  # s per chapter; a chapter takes seconds, the margin absorbs a slow CI


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`jupyter lab` on 127.0.0.1 with a random token; yields (base URL, token).

    Its workspaces live in a fresh folder: a layout saved in ~/.jupyter by an earlier session
    would reopen other tabs and hide the one a test opens."""
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).parent / "jupyter"
    workspaces = tmp_path_factory.mktemp("lab-workspaces")
    process = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={ROOT}",
         f"--LabApp.workspaces_dir={workspaces}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            api(base, token, "GET", "/api/status")
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                pytest.fail("Jupyter server did not start: " + process.stderr.read().decode()[-2000:])
            time.sleep(0.5)
    yield base, token
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def api(base, token, method, path, body=None):
    request = urllib.request.Request(
        base + path, method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        data = response.read()
        return json.loads(data) if data else None


async def execute_on_kernel(base, token, kernel_id, sources, store_history=True):
    """Run code cells one by one on a server kernel over its websocket; outputs per cell.
    With store_history=False they leave no trace in the kernel's `In` (a probe)."""
    from tornado.websocket import websocket_connect

    url = base.replace("http", "ws") + f"/api/kernels/{kernel_id}/channels?token={token}"
    connection = await websocket_connect(url)
    session = uuid.uuid4().hex
    results = []
    try:
        for source in sources:
            msg_id = uuid.uuid4().hex
            await connection.write_message(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": session,
                           "username": "test", "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": source, "silent": False, "store_history": store_history,
                            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            }))
            outputs, status, idle = [], None, False
            while not (status and idle):  # the reply and the idle status come in either order
                raw = await asyncio.wait_for(connection.read_message(), EXECUTION_TIMEOUT)
                assert raw is not None, "kernel websocket closed"
                message = json.loads(raw)
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message["header"]["msg_type"]
                if kind in ("display_data", "execute_result", "error", "stream"):
                    outputs.append((kind, message["content"]))
                if kind == "execute_reply":
                    status = message["content"]["status"]
                if kind == "status" and message["content"]["execution_state"] == "idle":
                    idle = True
            results.append((status, outputs))
            if status != "ok":
                break
    finally:
        connection.close()
    return results


@pytest.mark.slow
@pytest.mark.parametrize("chapter", [p for p in CHAPTERS if p.relative_to(ROOT).as_posix() != LAB_CHAPTER],
                         ids=lambda p: p.stem)
def test_chapter_runs_as_a_notebook_through_the_server(lab, chapter):
    base, token = lab
    path = chapter.relative_to(ROOT).as_posix()
    model = api(base, token, "GET", f"/api/contents/{path}?type=notebook&content=1")
    assert model["type"] == "notebook", "jupytext did not make the chapter a notebook"
    code = [cell["source"] for cell in model["content"]["cells"] if cell["cell_type"] == "code"]
    session = api(base, token, "POST", "/api/sessions",
                  {"path": path, "type": "notebook", "kernel": {"name": "python3"}})
    try:
        # in a thread of its own: Playwright's sync API keeps an event loop in this one
        with ThreadPoolExecutor(max_workers=1) as pool:
            results = pool.submit(asyncio.run, execute_on_kernel(
                base, token, session["kernel"]["id"], code)).result()
    finally:
        api(base, token, "DELETE", f"/api/sessions/{session['id']}")
    for source, (status, outputs) in zip(code, results):
        errors = [o for kind, o in outputs if kind == "error"]
        assert status == "ok", f"cell failed: {source[:200]}\n{errors}"
    assert len(results) == len(code)

    # the live panel: one cell displays the sliders (a widget), the next shows the figure
    panel = next(i for i, source in enumerate(code) if "live_panel(" in source)
    widget_outputs = [o for kind, o in results[panel][1] if kind == "display_data"]
    assert any("application/vnd.jupyter.widget-view+json" in o["data"] for o in widget_outputs)
    figure_outputs = [o for kind, o in results[panel + 1][1] if kind == "display_data"]
    assert any("image/png" in o["data"] for o in figure_outputs)


@pytest.mark.slow
def test_a_reader_runs_a_chapter_in_jupyterlab_and_moves_a_slider(lab, browser):
    base, token = lab
    chapter = LAB_CHAPTER
    model = api(base, token, "GET", f"/api/contents/{chapter}?type=notebook&content=1")
    code_cells = sum(cell["cell_type"] == "code" for cell in model["content"]["cells"])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{base}/lab/tree/{chapter}?token={token}")
        # opened as a notebook (postBuild's default viewer), not in the text editor
        page.locator(".jp-NotebookPanel").first.wait_for(timeout=60_000)
        assert page.locator(".jp-FileEditor").count() == 0, "opened in the text editor"
        page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=60_000)  # kernel ready
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        # the panel's sliders appear when its cell has run; then wait for the kernel to finish
        slider = page.locator(".widget-slider .noUi-handle").first
        slider.wait_for(state="attached", timeout=EXECUTION_TIMEOUT * 1000)
        page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(
            timeout=EXECUTION_TIMEOUT * 1000)
        # every cell ran, none raised: asked of the notebook's kernel itself (Run All stops
        # at a failing cell; In holds the cells run, and not the probe, which stores no
        # history; IPython keeps the last exception in sys.last_value). JupyterLab sends the
        # cells one after another, so the kernel is idle for a moment between two of them
        # and the probe can come in between: ask again until all have run or one failed.
        sessions = [s for s in api(base, token, "GET", "/api/sessions") if s["path"] == chapter]
        assert len(sessions) == 1, sessions
        deadline = time.monotonic() + EXECUTION_TIMEOUT
        while True:
            with ThreadPoolExecutor(max_workers=1) as pool:
                [(status, outputs)] = pool.submit(asyncio.run, execute_on_kernel(
                    base, token, sessions[0]["kernel"]["id"],
                    ["import sys; print(len(In) - 1, hasattr(sys, 'last_value'))"],
                    store_history=False)).result()
            assert status == "ok", outputs
            text = "".join(o.get("text", "") for kind, o in outputs if kind == "stream")
            ran, failed = text.split()
            if int(ran) >= code_cells or failed == "True" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert [ran, failed] == [str(code_cells), "False"], f"cells run, an error: {text}"
        figures = page.locator(".jp-OutputArea-output img")
        before = [figures.nth(i).get_attribute("src") for i in range(figures.count())]
        assert before, "no figure after Run All"
        # a reader moves the slider (its handle takes the arrow keys, as for any user)
        slider.focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "(before) => [...document.querySelectorAll('.jp-OutputArea-output img')]"
            ".some((img, i) => img.getAttribute('src') !== before[i])",
            arg=before, timeout=60_000)
    finally:
        page.close()
