"""Readable validation problems, and the text files users hand to adcut.

Every message built here is one short line, whatever the input: values are quoted through
`echo` (at most MAX_ECHO_CHARS, cut in the middle, the full length said), a document with
thousands of problems lists the first MAX_PROBLEMS and counts the rest, and a file that is not
UTF-8 text, or not valid YAML or JSON, is named with the line and column at fault.
"""

from __future__ import annotations

import codecs
import reprlib
from pathlib import Path

from pydantic import ValidationError

from adcut.core.errors import BadInputError

MAX_ECHO_CHARS = 60  # a quoted value in a message
MAX_PROBLEM_CHARS = 200  # one problem of a document
MAX_PROBLEMS = 8  # problems listed; the rest are counted
MAX_TEXT_FILE_BYTES = 1 << 20  # a brief or a script is a short text: 1 MiB is far beyond one

_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAVE_AS_UTF8 = "save it as UTF-8 text: in most editors, Save As with encoding UTF-8"


def _repr() -> reprlib.Repr:
    r = reprlib.Repr()
    r.maxlevel, r.maxdict, r.maxlist, r.maxtuple, r.maxset = 2, 3, 3, 3, 3
    r.maxstring = r.maxother = MAX_ECHO_CHARS
    return r


def echo(value: object, limit: int = MAX_ECHO_CHARS) -> str:
    """`value` as a message quotes it: repr for strings (control characters escaped), and never
    longer than about `limit` characters. A long string keeps its two ends and says its length;
    containers are summarised by reprlib, so even a YAML alias bomb costs nothing to quote."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        keep = max(4, (limit - 5) // 2)
        return f"{value[:keep]!r}...{value[-keep:]!r} ({len(value)} characters)"
    text = _repr().repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def echo_path(value: object, limit: int = 120) -> str:
    """A file path as a message names it: as it is when short and printable, else quoted and
    cut like `echo` (a name with a newline or 100,000 characters stays one short line)."""
    text = str(value)
    return text if len(text) <= limit and text.isprintable() else echo(text, limit)


def shorten(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    """One line of at most `limit` characters: whitespace runs (newlines included) become one
    space, and a longer text is cut in the middle."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    keep = (limit - 5) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


def json_path(loc: tuple) -> str:
    """('shots', 2, 'out_s') -> 'shots[2].out_s'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return shorten(out, MAX_ECHO_CHARS) or "(document)"


_BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
           "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}
_SCALARS = (str, int, float, bool, type(None))


def _number(x: object) -> object:
    """5.0 -> 5 in messages; other values as they are."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


def describe(error: dict) -> str:
    """What one pydantic error says, in words a user acts on, with the offending value."""
    kind, ctx, value = error.get("type", ""), error.get("ctx") or {}, error.get("input")
    msg = str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "finite_number":
        return f"{echo(value)} is not a number; give a finite number"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"{echo(value)} is out of range; it must be {words} {_number(ctx.get(key))}"
    if kind == "string_too_long":
        return (f"{len(value) if isinstance(value, str) else '?'} characters is too long; "
                f"at most {ctx.get('max_length')} are allowed")
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} (has {ctx.get('actual_length')})"
    if kind == "too_long":
        return (f"{len(value) if hasattr(value, '__len__') else '?'} items are too many; "
                f"at most {ctx.get('max_length')} are allowed")
    if kind == "extra_forbidden":
        return "unknown field (check its spelling; unknown fields are refused)"
    if kind == "missing":
        return "missing (this field is required)"
    if kind == "literal_error":
        return f"{echo(value)} is not allowed; use {ctx.get('expected')}"
    if kind == "value_error":
        return msg
    msg = msg.replace("Input should be", "should be", 1)
    if isinstance(value, _SCALARS) and kind not in ("model_type", "model_attributes_type"):
        return f"{echo(value)}: {msg}"
    return msg


def problems_of(exc: ValidationError, limit: int = MAX_PROBLEMS) -> list[str]:
    """Every problem of a document as 'json.path: what is wrong', the first `limit` of them
    and a count of the rest, each at most MAX_PROBLEM_CHARS long."""
    errors = exc.errors(include_url=False)
    out = [shorten(f"{json_path(e['loc'])}: {describe(e)}") for e in errors[:limit]]
    if len(errors) > limit:
        out.append(f"and {len(errors) - limit} more problems")
    return out


# -- text files ---------------------------------------------------------------------------------

def decode_text(raw: bytes, where: str) -> str:
    """The text of a file's bytes: UTF-8 (a byte-order mark is dropped), or UTF-16/32 when a
    byte-order mark says so. Anything else is refused with the position of the first bad byte,
    not guessed at: a wrong guess would put mojibake into the ad's voice and subtitles."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError:
                raise BadInputError(f"{where}: broken {codec.upper()} text",
                                    hint=_SAVE_AS_UTF8) from None
            break
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise BadInputError(
                f"{where} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}, "
                f"column {column})", hint=_SAVE_AS_UTF8) from None
    if "\x00" in text:
        raise BadInputError(f"{where} is not a text file (it contains NUL bytes)",
                            hint=_SAVE_AS_UTF8)
    return text


def read_text_file(path: Path, what: str, max_bytes: int = MAX_TEXT_FILE_BYTES) -> str:
    """A short text file the user names (a brief, a script), decoded by `decode_text`.
    `what` names it in messages ("brief file")."""
    path = Path(path)
    where = f"{what} {path}"
    if path.is_dir():
        raise BadInputError(f"{where} is a folder", hint="give the path of a file")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadInputError(f"{where} is {size / 1e6:.1f} MB; a {what} is a short text "
                                f"(at most {max_bytes // 1024} KiB)", hint="check the path")
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise BadInputError(f"{where} does not exist") from None
    except OSError as exc:
        raise BadInputError(f"{where} cannot be read ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:  # grew while we looked, or a device that reports no size
        raise BadInputError(f"{where} is longer than {max_bytes // 1024} KiB; a {what} is a "
                            "short text", hint="check the path")
    return decode_text(raw, where)


def parse_json_text(text: str, where: str) -> object:
    """JSON text -> data; a mistake is one line with its line and column."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{where} line {exc.lineno}, column {exc.colno}: {exc.msg}",
                            hint="fix the JSON at that place") from None
    except RecursionError:
        raise BadInputError(f"{where}: nested too deeply to be a document") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise BadInputError(f"{where}: not valid JSON ({shorten(str(exc), 120)})") from None


def _yaml_loader():
    """PyYAML's safe loader without YAML 1.1's base-60 numbers: `aspect: 9:16` is the text
    "9:16" (YAML 1.2 reads it so), not the integer 556."""
    import re

    import yaml

    int_tag, float_tag = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (int_tag, float_tag)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver(int_tag, re.compile(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
        list("-+0123456789"))
    Loader.add_implicit_resolver(float_tag, re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))
    return Loader


def parse_yaml_text(text: str, where: str) -> object:
    """YAML text -> data (safe loader: plain data only, and `9:16` stays text); a mistake is
    one line with its line and column, e.g. 'brief.yaml line 3, column 5: mapping values are
    not allowed here'."""
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506  (a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise BadInputError(f"{where}{at}: {shorten(problem, 120)}",
                            hint="fix the YAML at that place") from None
    except yaml.YAMLError as exc:
        raise BadInputError(f"{where}: not valid YAML ({shorten(str(exc), 120)})") from None
    except RecursionError:
        raise BadInputError(f"{where}: nested too deeply to be a document") from None
