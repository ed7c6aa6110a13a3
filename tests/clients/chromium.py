"""Drive Debian's headless Chromium from tests, with no driver and no extra package.

Chromium is started with ``--remote-debugging-pipe``: the Chrome DevTools Protocol
(CDP) runs over two inherited file descriptors (Chromium reads fd 3, writes fd 4;
messages are JSON separated by NUL bytes) -- the same transport Playwright and
Puppeteer use.  So there is no chromedriver, no selenium, no websocket library and
no TCP port to pick; only the standard library and ``/usr/bin/chromium``.

    skip_if_missing(chromium_available())
    res = load_page("out/map.html", screenshot_path=tmp_path / "map.png")
    assert res.console_errors == []
    assert not [u for u in res.requests if u.startswith(("http:", "https:"))]

A script can be run in the loaded page (``evaluate=``): an expression, awaited when
it is a promise, whose JSON-serialisable value comes back as ``PageResult.value``;
what it logs, throws or requests is recorded like the page's own:

    res = load_page("out/map.html", evaluate="(async () => document.title)()")
    assert res.value == res.title
"""

from __future__ import annotations

import base64
import fcntl
import functools
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-background-networking",  # no calls home: the network here is closed
    "--disable-component-update",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


_BASH = shutil.which("bash") or "/bin/bash"


class ChromiumUnavailable(RuntimeError):
    """Raised by :func:`load_page` when Chromium cannot run here (message = skip reason)."""


class CdpError(RuntimeError):
    """Chromium answered a DevTools command with an error, died, or timed out."""


@dataclass
class PageResult:
    console_errors: list[str]  # console.error/assert, uncaught exceptions, failed loads
    requests: list[str]  # every URL the page asked for, in order (main document first)
    screenshot: Path | None
    console_messages: list[str] = field(default_factory=list)  # all, as "level: text"
    failed_requests: list[str] = field(default_factory=list)  # "url: net::ERR_..."
    title: str = ""
    value: Any = None  # what the ``evaluate`` script returned (None without one)


def chromium_path() -> str | None:
    exe = os.environ.get("SPATIALPROG_CHROMIUM")
    if exe:
        return exe if os.access(exe, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@functools.lru_cache(maxsize=1)
def chromium_available() -> str | None:
    """``None`` when headless Chromium runs here, else a one-line reason to skip."""
    exe = chromium_path()
    if exe is None:
        return "chromium not found (Debian package 'chromium'; run: bash .ci/install-clients.sh)"
    try:
        proc = subprocess.run(
            [exe, "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"chromium at {exe} does not start: {exc}"
    if proc.returncode != 0 or "chrom" not in proc.stdout.lower():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"chromium at {exe} does not start (rc {proc.returncode}): {tail}"
    return None


class _Cdp:
    """Minimal synchronous CDP client over Chromium's debugging pipe."""

    def __init__(self, proc: subprocess.Popen, wfd: int, rfd: int) -> None:
        self.proc, self.wfd, self.rfd = proc, wfd, rfd
        self.sel = selectors.DefaultSelector()
        self.sel.register(rfd, selectors.EVENT_READ)
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []  # every event seen, in order

    def close(self) -> None:
        self.sel.close()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.wfd, data) :]
        return self.next_id

    def _read_one(self, deadline: float) -> dict[str, Any] | None:
        """Next message, or None if ``deadline`` passed first."""
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not self.sel.select(left):
                return None
            chunk = os.read(self.rfd, 1 << 20)
            if not chunk:
                raise CdpError(f"chromium closed the DevTools pipe (exit code {self.proc.poll()})")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)

    def pump(self, deadline: float) -> dict[str, Any] | None:
        msg = self._read_one(deadline)
        if msg is not None and "method" in msg:
            self.events.append(msg)
        return msg

    def call(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout_s: float = 30,
    ) -> dict[str, Any]:
        want = self.send(method, params, session)
        deadline = time.monotonic() + timeout_s
        while True:
            msg = self.pump(deadline)
            if msg is None:
                raise CdpError(f"timed out after {timeout_s:g} s waiting for {method}")
            if msg.get("id") == want:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error'].get('message', msg['error'])}")
                return msg.get("result", {})


def _remote_object_text(obj: dict[str, Any]) -> str:
    if "value" in obj:
        v = obj["value"]
        return v if isinstance(v, str) else json.dumps(v)
    return str(obj.get("description") or obj.get("unserializableValue") or obj.get("type", ""))


def _to_url(page: str | os.PathLike[str]) -> str:
    s = os.fspath(page)
    if "://" in s or s.startswith(("about:", "data:")):
        return s
    p = Path(s).resolve()
    if not p.is_file():
        raise FileNotFoundError(p)
    return p.as_uri()


def load_page(
    path_html: str | os.PathLike[str],
    *,
    screenshot_path: str | os.PathLike[str] | None = None,
    timeout_s: float = 30,
    window_size: tuple[int, int] = (1280, 800),
    settle_ms: int = 500,
    evaluate: str | None = None,
) -> PageResult:
    """Open a local HTML file (or URL) in headless Chromium and report what happened.

    Waits for the load event, then until no request has been in flight for
    ``settle_ms`` (so late timers/fetches are caught), bounded by ``timeout_s``.
    Then, when ``evaluate`` is given, runs it in the page (a JavaScript
    expression; a promise is awaited) and returns its value, passed through
    JSON, as :attr:`PageResult.value`; console messages, exceptions and
    requests during the script are recorded too. A script that throws raises
    :class:`CdpError`.
    Raises :class:`ChromiumUnavailable` (use its message as skip reason) when
    Chromium cannot run, :class:`CdpError` when the page never finished loading.
    """
    reason = chromium_available()
    if reason:
        raise ChromiumUnavailable(reason)
    url = _to_url(path_html)
    exe = chromium_path()
    if exe is None:  # chromium_available() found it a moment ago: say so rather than fail inside the launch
        raise ChromiumUnavailable("the Chromium executable disappeared after it was found")
    deadline = time.monotonic() + timeout_s

    with tempfile.TemporaryDirectory(prefix="spatialprog-chromium-") as profile:
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Chromium wants the pipe on fds 3 (reads) and 4 (writes).  Move the child's ends
        # to fds >= 10 first so they cannot collide with 3/4, then let bash put them there.
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        for fd in (to_chrome_r, from_chrome_w):
            os.close(fd)
        log_path = Path(profile) / "chromium-stderr.log"
        args = [
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}/data",
            f"--window-size={window_size[0]},{window_size[1]}",
            "about:blank",
        ]
        shell = f'exec "$0" "$@" 3<&{child_r} 4>&{child_w} {child_r}<&- {child_w}>&-'
        try:
            with open(log_path, "wb") as log:
                env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="disabled:")
                proc = subprocess.Popen(
                    [_BASH, "-c", shell, exe, *args],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    pass_fds=(child_r, child_w),
                    env=env,
                    start_new_session=True,
                )
        except BaseException:
            for fd in (to_chrome_w, from_chrome_r):
                os.close(fd)
            raise
        finally:
            os.close(child_r)
            os.close(child_w)
        cdp = _Cdp(proc, to_chrome_w, from_chrome_r)
        try:
            return _drive(cdp, url, screenshot_path, deadline, settle_ms, window_size, evaluate)
        except CdpError as exc:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise CdpError(f"{exc}; chromium stderr tail: {' | '.join(tail)}") from None
        finally:
            try:
                cdp.send("Browser.close")
            except OSError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            try:  # renderer/zygote helpers left behind: our own session's process group
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            cdp.close()
            os.close(to_chrome_w)
            os.close(from_chrome_r)


def _drive(
    cdp: _Cdp,
    url: str,
    screenshot_path: str | os.PathLike[str] | None,
    deadline: float,
    settle_ms: int,
    window_size: tuple[int, int],
    evaluate: str | None = None,
) -> PageResult:
    def left() -> float:
        return max(0.1, deadline - time.monotonic())

    target = cdp.call("Target.createTarget", {"url": "about:blank"}, timeout_s=left())["targetId"]
    sid = cdp.call(
        "Target.attachToTarget", {"targetId": target, "flatten": True}, timeout_s=left()
    )["sessionId"]
    for method in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
        cdp.call(method, session=sid, timeout_s=left())
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": window_size[0],
            "height": window_size[1],
            "deviceScaleFactor": 1,
            "mobile": False,
        },
        session=sid,
        timeout_s=left(),
    )
    first_event = len(cdp.events)
    nav = cdp.call("Page.navigate", {"url": url}, session=sid, timeout_s=left())
    if nav.get("errorText"):
        raise CdpError(f"navigation to {url} failed: {nav['errorText']}")

    # Wait for the load event, then for the network to be quiet for settle_ms.
    loaded = False
    in_flight: set[str] = set()
    seen = first_event
    quiet_since = time.monotonic()
    while True:
        for ev in cdp.events[seen:]:
            if ev.get("sessionId") != sid:
                continue
            m, p = ev["method"], ev.get("params", {})
            if m == "Page.loadEventFired":
                loaded = True
            elif m == "Network.requestWillBeSent":
                in_flight.add(p["requestId"])
            elif m in ("Network.loadingFinished", "Network.loadingFailed"):
                in_flight.discard(p["requestId"])
            quiet_since = time.monotonic()
        seen = len(cdp.events)
        now = time.monotonic()
        if loaded and not in_flight and now - quiet_since >= settle_ms / 1000:
            break
        if now >= deadline:
            if not loaded:
                raise CdpError(f"page {url} did not fire its load event within the timeout")
            break  # loaded but something keeps the network busy: report what we have
        cdp.pump(min(deadline, now + settle_ms / 1000))

    shot: Path | None = None
    if screenshot_path is not None:
        data = cdp.call("Page.captureScreenshot", {"format": "png"}, session=sid, timeout_s=left())
        shot = Path(screenshot_path)
        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.write_bytes(base64.b64decode(data["data"]))
    title = (
        cdp.call(
            "Runtime.evaluate",
            {"expression": "document.title", "returnByValue": True},
            session=sid,
            timeout_s=left(),
        )
        .get("result", {})
        .get("value", "")
    )

    value: Any = None
    if evaluate is not None:
        out = cdp.call(
            "Runtime.evaluate",
            {"expression": evaluate, "awaitPromise": True, "returnByValue": True},
            session=sid,
            timeout_s=left(),
        )
        if "exceptionDetails" in out:
            d = out["exceptionDetails"]
            text = (d.get("exception") or {}).get("description") or d.get("text", "exception")
            raise CdpError(f"the evaluated script threw: {text}")
        value = out.get("result", {}).get("value")

    errors: list[str] = []
    messages: list[str] = []
    requests: list[str] = []
    failed: list[str] = []
    urls_by_id: dict[str, str] = {}
    for ev in cdp.events[first_event:]:
        if ev.get("sessionId") != sid:
            continue
        m, p = ev["method"], ev.get("params", {})
        if m == "Runtime.consoleAPICalled":
            text = " ".join(_remote_object_text(a) for a in p.get("args", []))
            level = p.get("type", "log")
            messages.append(f"{level}: {text}")
            if level in ("error", "assert"):
                errors.append(text)
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            exc = d.get("exception") or {}
            text = exc.get("description") or d.get("text", "exception")
            messages.append(f"exception: {text}")
            errors.append(f"Uncaught {text}" if not text.startswith("Uncaught") else text)
        elif m == "Log.entryAdded":  # browser-side: failed resource loads, CSP, deprecations...
            e = p.get("entry", {})
            text = e.get("text", "") + (f" ({e['url']})" if e.get("url") else "")
            messages.append(f"{e.get('level', 'info')}: {text}")
            if e.get("level") == "error":
                errors.append(text)
        elif m == "Network.requestWillBeSent":
            req_url = p["request"]["url"]
            urls_by_id[p["requestId"]] = req_url
            requests.append(req_url)  # a redirect hop counts as a request too
        elif m == "Network.loadingFailed":
            failed.append(f"{urls_by_id.get(p['requestId'], '?')}: {p.get('errorText', '')}")
    return PageResult(
        console_errors=errors,
        requests=requests,
        screenshot=shot,
        console_messages=messages,
        failed_requests=failed,
        title=title,
        value=value,
    )
