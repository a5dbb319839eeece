"""Photo files for batch enrolment: a folder, a zip, or loose files named by employee number."""

import os
import zipfile
from pathlib import PurePosixPath

# A member larger than this is not read (a photo is a few MB; this stops zip bombs).
MAX_FILE_BYTES = 20 * 1024 * 1024


def employee_number(filename):
    """The employee number a photo file is named by: `100231.jpg` -> `100231`."""
    return PurePosixPath(filename.replace("\\", "/")).stem.strip()


def _wanted(name):
    path = PurePosixPath(name.replace("\\", "/"))
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return False
    return bool(path.stem)


def is_zip(data):
    return data[:4] == b"PK\x03\x04"


def iter_zip(source):
    """(name, bytes or None) of each file of a zip (a path or a file object); None when too big."""
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            if info.is_dir() or not _wanted(info.filename):
                continue
            if info.file_size > MAX_FILE_BYTES:
                yield info.filename, None
                continue
            yield info.filename, archive.read(info)


def iter_folder(path):
    """(relative name, bytes or None) of each photo file below a folder, in name order."""
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(files):
            full = os.path.join(root, name)
            relative = os.path.relpath(full, path)
            if not _wanted(relative) or os.path.splitext(name)[1].lower() == ".zip":
                continue
            if os.path.getsize(full) > MAX_FILE_BYTES:
                yield relative, None
                continue
            with open(full, "rb") as handle:
                yield relative, handle.read()


def iter_path(path):
    """The photo files of a folder, of a zip file, or a single photo file."""
    if os.path.isdir(path):
        yield from iter_folder(path)
    elif zipfile.is_zipfile(path):
        yield from iter_zip(path)
    elif os.path.getsize(path) > MAX_FILE_BYTES:
        yield os.path.basename(path), None
    else:
        with open(path, "rb") as handle:
            yield os.path.basename(path), handle.read()


def count_path(path):
    """How many files `iter_path` will give (for progress), without reading them."""
    if os.path.isdir(path):
        return sum(
            1
            for root, _dirs, files in os.walk(path)
            for name in files
            if _wanted(os.path.relpath(os.path.join(root, name), path))
            and os.path.splitext(name)[1].lower() != ".zip"
        )
    if not zipfile.is_zipfile(path):
        return 1
    with zipfile.ZipFile(path) as archive:
        return sum(1 for info in archive.infolist() if not info.is_dir() and _wanted(info.filename))
