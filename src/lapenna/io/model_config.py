"""The schema of a ``.lpn`` file's ``config.json``, checked before anything uses it.

Every key a reader later looks up is checked here for presence and type, so a hostile or
damaged config is refused with a :class:`FormatError` naming the file and the key, never a
``KeyError``, ``TypeError`` or ``RecursionError`` from deep inside the loader.
"""

from lapenna.io.errors import FormatError

FORMAT_VERSION = 1
MAX_SHAPE_DEPTH = 8  # nested input shapes (a model of lists of dicts of inputs)
_COMPILE_KEYS = ("optimizer", "loss", "metrics")


def check_model_config(config, source):
    """Refuse a model config that does not follow the schema.

    Args:
        config: the parsed ``config.json``.
        source: the file's name for messages.

    Raises:
        FormatError: naming the key that is missing or of the wrong type.

    Example:
        >>> check_model_config({"format": "lapenna-model"}, "m.lpn")
        Traceback (most recent call last):
        ...
        lapenna.io.errors.FormatError: m.lpn: config.json: 'format_version' must be an int ...
    """
    where = f"{source}: config.json"
    if not isinstance(config, dict) or config.get("format") != "lapenna-model":
        raise FormatError(f"{where} is not a lapenna model config")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FormatError(
            f"{where}: 'format_version' must be an int >= 1 (this lapenna writes "
            f"{FORMAT_VERSION}), got {version!r}"
        )
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{source}: format version {version} is newer than this lapenna reads "
            f"({FORMAT_VERSION}); upgrade lapenna"
        )
    _check_layer_config(config.get("model"), f"{where}: 'model'")
    _check_shape(config.get("build_input_shape"), f"{where}: 'build_input_shape'", 0)
    for key, kind in (("include_optimizer", bool), ("extra", dict)):
        if config.get(key) is not None and not isinstance(config[key], kind):
            raise FormatError(
                f"{where}: {key!r} must be a {kind.__name__}, got {type(config[key]).__name__}"
            )
    compiled = config.get("compile")
    if compiled is not None:
        _check_compile(compiled, f"{where}: 'compile'")


def _check_layer_config(value, where):
    if not isinstance(value, dict):
        raise FormatError(f"{where} must be an object with class_name and config, got {value!r}")
    if not isinstance(value.get("class_name"), str):
        raise FormatError(
            f"{where}: 'class_name' must be a string, got {value.get('class_name')!r}"
        )
    if not isinstance(value.get("config", {}), dict):
        raise FormatError(f"{where}: 'config' must be an object")


def _check_shape(shape, where, depth):
    if shape is None:
        return
    if depth > MAX_SHAPE_DEPTH:
        raise FormatError(f"{where} is nested deeper than {MAX_SHAPE_DEPTH} levels")
    if isinstance(shape, dict):
        for key, value in shape.items():
            _check_shape(value, f"{where}[{key!r}]", depth + 1)
        return
    if not isinstance(shape, list):
        raise FormatError(f"{where} must be a list of sizes (ints or null), got {shape!r}")
    for dim in shape:
        if isinstance(dim, list | dict):
            _check_shape(dim, where, depth + 1)
        elif dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 0):
            raise FormatError(f"{where} must hold sizes >= 0 or null, got {dim!r}")


def _check_compile(compiled, where):
    if not isinstance(compiled, dict):
        raise FormatError(
            f"{where} must be an object with optimizer, loss and metrics, got {compiled!r}"
        )
    missing = [key for key in _COMPILE_KEYS if key not in compiled]
    if missing:
        raise FormatError(f"{where} has no {missing[0]!r} key")
    optimizer = compiled["optimizer"]
    if not isinstance(optimizer, str):
        _check_layer_config(optimizer, f"{where}: 'optimizer'")
    for key in ("loss", "metrics", "loss_weights"):
        value = compiled.get(key)
        if value is not None and not isinstance(value, str | list | dict):
            raise FormatError(
                f"{where}: {key!r} must be a name, a list or an object, got {value!r}"
            )
