"""Small helpers shared by the services: Debian packages, config templates, command lookup."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from string import Template

_apt_updated = False


def which(name: str, *extra_dirs: str) -> str | None:
    """`shutil.which`, also looking in sbin folders (not on a non-root PATH; clickhouse-server is
    installed in /usr/sbin)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in (*extra_dirs, "/usr/sbin", "/usr/local/sbin", "/sbin"):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def apt_install(*packages: str) -> None:
    """Install Debian packages (`apt-get update` at most once per process)."""
    global _apt_updated
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"{' '.join(packages)} missing and apt-get unavailable: install them")
    if os.geteuid() != 0:
        raise RuntimeError(
            f"{' '.join(packages)} missing; install them as root: "
            f"apt-get update && apt-get install -y {' '.join(packages)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps: list[list[str]] = []
    if not _apt_updated:
        steps.append(["apt-get", "update"])
    steps.append(["apt-get", "install", "-y", "--no-install-recommends", *packages])
    for cmd in steps:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            # Debian's packages try to start their own service; policy-rc.d denies it in
            # containers and dpkg reports that as a warning only, so a non-zero code is real.
            output = (done.stdout + done.stderr)[-4000:]
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{output}")
        if cmd[1] == "update":
            _apt_updated = True


def render(template: str, dest: Path, **values: str) -> bool:
    """Write templates/<template> with $values substituted to `dest`; True if the file changed."""
    text = resources.files("pakn.services").joinpath("templates", template).read_text()
    out = Template(text).substitute(values)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and dest.read_text() == out:
        return False
    tmp = dest.with_suffix(dest.suffix + ".tmp")
    tmp.write_text(out)
    tmp.replace(dest)
    return True
