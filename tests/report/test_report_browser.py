"""The listening pages in a real browser: headless Chromium driven by selenium.

The demo page (every shipped checkpoint) and one fitted checkpoint's page (the `zoo fit` layout:
config.json + model.safetensors + README.md + audio/dry.wav + audio/target.wav + metrics.csv) are
served from a localhost http.server thread (file:// can block media) and must load every
``<audio>`` with a non-zero duration, every image, and log no console error; a screenshot is
written. Without Chromium, chromedriver or selenium the test skips, except under ``CI=true``, where
it fails (a broken install must not hide). Install the browser with ``.ci/install-browser``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from zoo import hub

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--mute-audio", "--window-size=1280,1600",
)

#: JS: wait (up to 20 s) until every <audio> has its metadata (or failed), then describe each
_AUDIO_JS = """
const done = arguments[arguments.length - 1];
const audios = Array.from(document.querySelectorAll('audio'));
const describe = () => audios.map(a => ({src: a.currentSrc || a.src, readyState: a.readyState,
                                         duration: a.duration, error: a.error ? a.error.code : null}));
const settled = a => a.readyState >= 1 || a.error;
const timer = setTimeout(() => done(describe()), 20000);
Promise.all(audios.map(a => settled(a) ? null : new Promise(resolve => {
  a.addEventListener('loadedmetadata', resolve, {once: true});
  a.addEventListener('error', resolve, {once: true});
  a.load();
}))).then(() => { clearTimeout(timer); done(describe()); });
"""

_IMAGES_JS = """
return Array.from(document.images).map(i => ({src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth}));
"""


def _browser_or_skip() -> tuple[str, str]:
    """Paths of chromium and chromedriver; skip (fail under CI=true) when something is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver") or next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if os.path.exists(p)), None)
    missing = []
    if chromium is None:
        missing.append("chromium")
    if driver is None:
        missing.append("chromedriver (Debian: chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install 'allpole-zoo[dev]')")
    if missing:
        reason = f"needs {', '.join(missing)}; install the browser with .ci/install-browser"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the browser test cannot run: {reason}")
        pytest.skip(reason)
    return chromium, driver  # type: ignore[return-value]


@contextlib.contextmanager
def _serve(folder: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium, driver_path = _browser_or_skip()
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def check_page(driver: Any, folder: Path, screenshot: Path) -> dict[str, Any]:
    """Open ``folder/index.html`` over http; assert players, images and console; write ``screenshot``."""
    with _serve(folder) as url:
        driver.get_log("browser")  # drop what an earlier page logged
        driver.get(url)
        audios = driver.execute_async_script(_AUDIO_JS)
        images = driver.execute_script(_IMAGES_JS)
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert driver.save_screenshot(str(screenshot)), "no screenshot written"
    assert audios, "the page has no <audio> element"
    bad_audio = [a for a in audios if a["error"] is not None or a["readyState"] < 1 or not a["duration"] > 0]
    assert not bad_audio, f"audio that did not load: {bad_audio}"
    assert images, "the page has no image"
    bad_images = [i for i in images if not i["complete"] or i["width"] <= 0]
    assert not bad_images, f"images that did not load: {bad_images}"
    assert not errors, f"console errors: {errors}"
    assert screenshot.stat().st_size > 10_000
    return {"audios": audios, "images": images}


@pytest.mark.slow
@pytest.mark.skipif(len(hub.list_checkpoints()) < 3, reason="checkpoints not built")
def test_demo_page_loads_in_chromium(browser: Any, tmp_path: Path) -> None:
    from zoo.demo import run_demo

    run_demo(tmp_path / "demo", duration_s=1.0)
    found = check_page(browser, tmp_path / "demo", tmp_path / "demo.png")
    # dry + real + model for the two audio effects, target + model for the synth
    assert len(found["audios"]) == 8
    assert all(abs(a["duration"] - 1.0) < 0.05 for a in found["audios"])


@pytest.mark.slow
@pytest.mark.skipif("compressor-pedalboard" not in hub.list_checkpoints(), reason="checkpoints not built")
def test_fitted_checkpoint_page_loads_in_chromium(browser: Any, tmp_path: Path) -> None:
    import soundfile as sf

    from zoo.data.render import render_effect
    from zoo.report import report_checkpoint
    from zoo.report.clips import generated_dry_clip, real_effect_config

    # A checkpoint folder as `zoo fit` leaves it: the weights, audio/ and the run's metrics.csv.
    shipped = Path(hub.resolve_checkpoint("compressor-pedalboard"))
    fitted = tmp_path / "my-compressor"
    fitted.mkdir()
    for name in ("config.json", "model.safetensors", "README.md"):
        shutil.copy(shipped / name, fitted / name)
    rate = 44100
    dry = generated_dry_clip(rate, 1.5, seed=3)
    target = render_effect(dry, rate, real_effect_config(hub.list_checkpoints()["compressor-pedalboard"]["card"]["data"]))
    (fitted / "audio").mkdir()
    sf.write(fitted / "audio" / "dry.wav", dry, rate)
    sf.write(fitted / "audio" / "target.wav", target, rate)
    steps = np.arange(0, 100, 10)
    (fitted / "metrics.csv").write_text(
        "epoch,step,train/loss,val/loss\n" + "".join(f"0,{s},{1.0 / (s + 1)},\n0,{s},,{1.2 / (s + 1)}\n" for s in steps)
    )
    report_checkpoint(str(fitted), tmp_path / "page")
    found = check_page(browser, tmp_path / "page", tmp_path / "page.png")
    assert [round(a["duration"], 1) for a in found["audios"]] == [1.5, 1.5, 1.5]
    names = sorted(Path(i["src"]).name for i in found["images"])
    assert names == ["my-compressor_controls.png", "my-compressor_fit_curve.png", "my-compressor_spectrograms.png"]


def test_a_missing_clip_or_image_fails_the_check(browser: Any, tmp_path: Path, section: Any) -> None:
    from zoo.report import write_report

    write_report(tmp_path / "page", title="broken", sections=[section])
    wav = next((tmp_path / "page").glob("*.wav"))
    wav.unlink()
    with pytest.raises(AssertionError, match="audio that did not load"):
        check_page(browser, tmp_path / "page", tmp_path / "shot.png")
    write_report(tmp_path / "page2", title="broken", sections=[section])
    next((tmp_path / "page2").glob("*.png")).write_bytes(b"not a png")
    with pytest.raises(AssertionError, match="images that did not load"):
        check_page(browser, tmp_path / "page2", tmp_path / "shot2.png")


@pytest.mark.slow
def test_real_zoo_fit_listening_page_loads_in_chromium(browser: Any, tmp_path: Path) -> None:
    """The page `zoo fit` itself writes (listen/index.html) of a real, short fit."""
    import soundfile as sf

    pedalboard = pytest.importorskip("pedalboard")
    from zoo.data.generate import drum_hits, plucked_phrase
    from zoo.fit.command import fit_command

    rate, seconds = 16000, 6.0
    dry = (0.6 * plucked_phrase(rate, seconds, seed=5) + 0.3 * drum_hits(rate, seconds, seed=6)).astype(np.float32)
    dry = 0.8 * dry / np.abs(dry).max()
    wet = pedalboard.Compressor(threshold_db=-24, ratio=4, attack_ms=5, release_ms=80)(dry[None], rate)[0]
    sf.write(tmp_path / "dry.wav", dry, rate)
    sf.write(tmp_path / "wet.wav", wet, rate)
    out = tmp_path / "fitted"
    fit_command("compressor", tmp_path / "dry.wav", tmp_path / "wet.wav", out, minutes=0.5, max_steps=3,
                log=lambda line: None)
    found = check_page(browser, out / "listen", tmp_path / "fit_page.png")
    assert len(found["audios"]) >= 3 and all(a["duration"] > 0 for a in found["audios"])
    assert len(found["images"]) >= 2
