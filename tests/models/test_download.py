import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from samcompare.cli import main as cli_main
from samcompare.models.download import DownloadError, checkpoint_status, download_file

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.endswith("/truncated.pth"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.connection.close()  # the server dies mid-transfer
            return
        if self.path.endswith("/missing.pth"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_with_matching_hash_lands(tmp_path, server_url):
    seen = []
    target = tmp_path / "weights" / "model.pth"
    download_file(
        f"{server_url}/model.pth", target, hashlib.sha256(PAYLOAD).hexdigest(), lambda d, t: seen.append((d, t))
    )
    assert target.read_bytes() == PAYLOAD
    assert _leftovers(target.parent) == ["model.pth"]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_download_with_wrong_hash_leaves_nothing(tmp_path, server_url):
    with pytest.raises(DownloadError, match="SHA-256"):
        download_file(f"{server_url}/model.pth", tmp_path / "model.pth", "0" * 64)
    assert _leftovers(tmp_path) == []


def test_interrupted_download_leaves_nothing(tmp_path, server_url):
    with pytest.raises(DownloadError):
        download_file(f"{server_url}/truncated.pth", tmp_path / "model.pth", hashlib.sha256(PAYLOAD).hexdigest())
    assert _leftovers(tmp_path) == []


def test_http_error_is_a_download_error(tmp_path, server_url):
    with pytest.raises(DownloadError, match="404"):
        download_file(f"{server_url}/missing.pth", tmp_path / "model.pth", None)
    assert _leftovers(tmp_path) == []


def test_existing_checkpoint_is_not_clobbered_by_a_bad_download(tmp_path, server_url):
    target = tmp_path / "model.pth"
    target.write_bytes(b"previous good file")
    with pytest.raises(DownloadError):
        download_file(f"{server_url}/model.pth", target, "f" * 64)
    assert target.read_bytes() == b"previous good file"


def test_cli_download_reports_hash_mismatch_in_one_line(tmp_path, server_url, capsys, monkeypatch):
    monkeypatch.setenv("SAMCOMPARE_WEIGHTS", str(tmp_path))
    code = cli_main(["weights", "download", "vit_b", "--url", f"{server_url}/sam_vit_b_01ec64.pth"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") >= 1 and "Traceback" not in captured.err
    assert "SHA-256" in captured.err.strip().splitlines()[-1]
    assert _leftovers(tmp_path) == []


def test_cli_download_through_mirror_variable(tmp_path, server_url, capsys, monkeypatch):
    monkeypatch.setenv("SAMCOMPARE_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("SAMCOMPARE_DOWNLOAD_BASE_URL", f"{server_url}/mirror")
    assert cli_main(["weights", "download", "vit_l"]) == 2  # served, but not the published file
    assert "mirror/sam_vit_l_0b3195.pth" in capsys.readouterr().err


def test_verify_flags_a_wrong_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAMCOMPARE_WEIGHTS", str(tmp_path))
    (tmp_path / "sam_vit_b_01ec64.pth").write_bytes(b"not the real thing")
    status = checkpoint_status("vit_b")
    assert status.present and status.sha256_ok is False
    assert cli_main(["weights", "verify"]) == 1
    assert "MISMATCH" in capsys.readouterr().out
    assert cli_main(["weights", "list"]) == 0


def test_every_official_checkpoint_lists_its_published_size():
    from samcompare.models.catalogue import MODEL_CATALOGUE, OFFICIAL_MODELS, human_size

    sizes = {name: MODEL_CATALOGUE[name].size_bytes for name in OFFICIAL_MODELS}
    assert sizes == {
        "vit_h": 2_564_550_879,
        "vit_l": 1_249_524_607,
        "vit_b": 375_042_383,
        "sam2.1_hiera_tiny": 156_008_466,
        "sam2.1_hiera_small": 184_416_285,
        "sam2.1_hiera_base_plus": 323_606_802,
        "sam2.1_hiera_large": 898_083_611,
    }
    assert human_size(sizes["vit_l"]) == "1.2 GB"
