"""A headless Chromium driven through chromedriver's W3C WebDriver API, spoken with treq on the
test's own reactor (no blocking client: the server under test runs on the same reactor).

    async with Browser(tmp_path) as b:
        await b.open(url)
        await b.click("button.danger")
        shot = await b.screenshot("after")      # a PNG file
        count_color(shot, (179, 38, 30))        # pixels of a colour

Tests that use it skip without `chromium` and `chromedriver` (Debian: chromium chromium-driver;
.ci/run installs them)."""

from __future__ import annotations

import base64
import json
import shutil
import socket

import pytest

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None or shutil.which("chromedriver") is None,
    reason="chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver; .ci/run does)",
)


class WebDriverError(AssertionError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    def __init__(self, tmp_path, width: int = 1200, height: int = 1000):
        self.tmp_path = tmp_path
        self.width = width
        self.height = height
        self.process = None
        self.session = None
        self.shots = 0

    # -- chromedriver --------------------------------------------------------------------------
    async def __aenter__(self):
        import treq
        from twisted.internet import defer, protocol, reactor
        from twisted.web.client import Agent, HTTPConnectionPool

        self._pool = HTTPConnectionPool(reactor, persistent=False)
        self._http = treq.client.HTTPClient(Agent(reactor, pool=self._pool))
        self.port = _free_port()
        started = defer.Deferred()

        class Driver(protocol.ProcessProtocol):
            output = b""

            def outReceived(self, data):
                self.output += data
                if b"started successfully" in self.output and not started.called:
                    started.callback(None)

            errReceived = outReceived

            def processEnded(self, reason):
                if not started.called:
                    started.errback(WebDriverError(f"chromedriver ended: {self.output[-2000:]!r}"))

        self.process = reactor.spawnProcess(
            Driver(), shutil.which("chromedriver"), ["chromedriver", f"--port={self.port}"],
            env={"HOME": str(self.tmp_path), "PATH": "/usr/bin:/bin"},
        )
        started.addTimeout(30, reactor)
        await started
        answer = await self._call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": shutil.which("chromium"),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--no-first-run", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1",
                         "--force-color-profile=srgb", f"--window-size={self.width},{self.height}",
                         f"--user-data-dir={self.tmp_path / 'chromium-profile'}"],
            },
        }}})
        self.session = answer["sessionId"]
        return self

    async def __aexit__(self, *exc):
        try:
            if self.session is not None:
                await self._call("DELETE", f"/session/{self.session}")
        finally:
            if self.process is not None and self.process.pid is not None:
                self.process.signalProcess("TERM")
            await self._pool.closeCachedConnections()

    async def _call(self, method: str, path: str, body=None):
        from twisted.internet import reactor

        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        d = self._http.request(method, f"http://127.0.0.1:{self.port}{path}", data=data,
                               headers={"Content-Type": ["application/json"]})
        d.addTimeout(90, reactor)
        response = await d
        raw = await response.content()
        answer = json.loads(raw or b"{}")
        value = answer.get("value") if isinstance(answer, dict) else None
        if response.code >= 400:
            raise WebDriverError(f"{method} {path}: {response.code} {raw[:1000]!r}")
        return value

    def _s(self, path: str) -> str:
        return f"/session/{self.session}{path}"

    # -- pages ---------------------------------------------------------------------------------
    async def open(self, url: str) -> None:
        await self._call("POST", self._s("/url"), {"url": url})

    async def url(self) -> str:
        return await self._call("GET", self._s("/url"))

    async def find(self, css: str) -> str:
        value = await self._call("POST", self._s("/element"), {"using": "css selector", "value": css})
        return value[ELEMENT]

    async def find_all(self, css: str) -> list[str]:
        values = await self._call("POST", self._s("/elements"), {"using": "css selector", "value": css})
        return [v[ELEMENT] for v in values]

    async def text(self, css: str) -> str:
        return await self._call("GET", self._s(f"/element/{await self.find(css)}/text"))

    async def texts(self, css: str) -> list[str]:
        return [await self._call("GET", self._s(f"/element/{e}/text")) for e in await self.find_all(css)]

    async def click(self, css: str) -> None:
        await self._call("POST", self._s(f"/element/{await self.find(css)}/click"))

    async def script(self, source: str, *args):
        return await self._call("POST", self._s("/execute/sync"), {"script": source, "args": list(args)})

    async def navigate_by(self, css: str, timeout: float = 20.0) -> None:
        """Click an element that loads another page (a link, a submit button) and return once the
        new document has loaded: the old one carries a mark that the new one does not (the URL
        may stay the same)."""
        from twisted.internet import reactor, task

        await self.script("window.__before_click = true;")
        await self.click(css)
        waited = 0.0
        while await self.script("return window.__before_click === true || document.readyState !== 'complete';"):
            if waited >= timeout:
                raise WebDriverError(f"no new page after clicking {css}")
            # a real browser loading a page: the only wait in these tests that no Clock can drive
            await task.deferLater(reactor, 0.05, lambda: None)
            waited += 0.05

    async def still_here(self) -> bool:
        """True when the page of the last navigate_by/mark is still the one shown."""
        return await self.script("return window.__before_click === true;")

    async def type(self, css: str, text: str) -> None:
        element = await self.find(css)
        await self._call("POST", self._s(f"/element/{element}/clear"))
        await self._call("POST", self._s(f"/element/{element}/value"), {"text": text})

    async def screenshot(self, name: str):
        """The visible page as a PNG file in tmp_path."""
        self.shots += 1
        path = self.tmp_path / f"{self.shots:02d}-{name}.png"
        path.write_bytes(base64.b64decode(await self._call("GET", self._s("/screenshot"))))
        return path


def count_color(path, rgb: tuple, tolerance: int = 6) -> int:
    """How many pixels of the PNG at `path` are within `tolerance` of the colour `rgb`."""
    from PIL import Image

    with Image.open(path) as shot:
        colors = shot.convert("RGB").getcolors(1 << 24)  # (count, colour) of every colour present
    r0, g0, b0 = rgb
    return sum(n for n, (r, g, b) in colors
               if abs(r - r0) <= tolerance and abs(g - g0) <= tolerance and abs(b - b0) <= tolerance)
