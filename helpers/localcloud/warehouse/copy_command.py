"""A Redshift ``COPY ... FROM 's3://...'`` statement, read into its parts.

Syntax and parameters as the COPY reference gives them
(https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html and its parameter pages:
copy-parameters-authorization, copy-parameters-data-source-s3, copy-parameters-data-format,
copy-parameters-file-compression, copy-parameters-data-conversion, copy-parameters-data-load).
Keywords may come in any order after FROM; ``AS`` is optional wherever the reference allows it.
A parameter the local warehouse does not implement is refused with a message naming it, never
ignored, except those that only tune Redshift's own storage (COMPUPDATE, COMPROWS, STATUPDATE),
which are accepted and have no effect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable

from sqlglot.tokens import Token, TokenType

from helpers.localcloud.warehouse.sql_errors import SqlError

FORMATS = ("TEXT", "CSV", "JSON", "PARQUET")
UNSUPPORTED_FORMATS = ("AVRO", "ORC", "FIXEDWIDTH", "SHAPEFILE", "RCFILE", "SEQUENCEFILE")
COMPRESSIONS = ("GZIP", "BZIP2", "LZOP", "ZSTD")
MAX_MAXERROR = 100000  # "The MAXERROR default value is 0 and the limit is 100000."
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class CopyCommand:
    """What a COPY statement asks for. Defaults are Redshift's."""

    table: str
    schema: str | None = None
    columns: tuple[str, ...] = ()  # empty: the table's columns
    source: str = ""  # s3://bucket/key-prefix, or the manifest's URL
    manifest: bool = False
    authorization: str = ""  # IAM_ROLE, CREDENTIALS or ACCESS_KEY_ID: accepted, not checked
    region: str | None = None
    format: str = "TEXT"  # TEXT (character-delimited), CSV, JSON or PARQUET
    json_option: str = "auto"  # 'auto', 'auto ignorecase' or the s3:// URL of a JSONPaths file
    delimiter: str | None = None  # None: | for TEXT, comma for CSV
    quote: str = '"'
    compression: str | None = None
    ignore_header: int = 0
    null_as: str = "\\N"
    empty_as_null: bool = False
    blanks_as_null: bool = False
    trim_blanks: bool = False
    truncate_columns: bool = False
    accept_inv_chars: str | None = None  # the replacement character, when ACCEPTINVCHARS is given
    accept_any_date: bool = False
    date_format: str | None = None  # None: YYYY-MM-DD
    time_format: str | None = None  # None: YYYY-MM-DD HH:MI:SS
    max_error: int = 0
    ignore_all_errors: bool = False
    fill_record: bool = False
    ignore_blank_lines: bool = False
    remove_quotes: bool = False
    escape: bool = False
    explicit_ids: bool = False
    round_decimals: bool = False
    no_load: bool = False
    given: frozenset[str] = field(default_factory=frozenset)  # the parameters the statement named

    @property
    def field_delimiter(self) -> str:
        if self.delimiter is not None:
            return self.delimiter
        return "," if self.format == "CSV" else "|"

    @property
    def bucket(self) -> str:
        return self.source[len("s3://") :].split("/", 1)[0]

    @property
    def key(self) -> str:
        parts = self.source[len("s3://") :].split("/", 1)
        return parts[1] if len(parts) > 1 else ""


class _Reader:
    """The statement's tokens, read left to right."""

    def __init__(self, sql: str, tokens: list[Token]) -> None:
        self.sql = sql
        self.tokens = tokens
        self.position = 0

    def peek(self, offset: int = 0) -> Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        token = self.peek(offset)
        return token.text.upper() if token is not None and token.token_type != TokenType.STRING else ""

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise SqlError("ERROR: syntax error at end of input")
        self.position += 1
        return token

    def done(self) -> bool:
        return self.peek() is None

    def expect_word(self, word: str) -> None:
        token = self.next()
        if token.token_type == TokenType.STRING or token.text.upper() != word:
            raise _syntax_error(token)

    def skip_as(self) -> None:
        if self.word() == "AS":
            self.position += 1

    def string(self) -> str:
        """A quoted argument, as written between its quotes (COPY reads its backslashes itself)."""
        token = self.next()
        if token.token_type != TokenType.STRING:
            raise _syntax_error(token)
        return self.sql[token.start + 1 : token.end].replace("''", "'")

    def number(self) -> int:
        token = self.next()
        if token.token_type != TokenType.NUMBER or not token.text.isdigit():
            raise _syntax_error(token)
        return int(token.text)

    def identifier(self, case_sensitive: bool) -> str:
        token = self.next()
        if token.token_type in (TokenType.STRING, TokenType.NUMBER) or not token.text:
            raise _syntax_error(token)
        quoted = token.token_type == TokenType.IDENTIFIER
        return token.text if quoted and case_sensitive else token.text.lower()


def _syntax_error(token: Token) -> SqlError:
    return SqlError(f'ERROR: syntax error at or near "{token.text}"')


def parse(sql: str, tokens: list[Token], case_sensitive: bool = False) -> CopyCommand:
    """The COPY statement ``sql`` (already tokenized by the warehouse) as a ``CopyCommand``."""
    reader = _Reader(sql, [t for t in tokens if t.token_type != TokenType.SEMICOLON])
    reader.expect_word("COPY")
    name = reader.identifier(case_sensitive)
    schema = None
    if reader.peek() is not None and reader.peek().token_type == TokenType.DOT:
        reader.next()
        schema, name = name, reader.identifier(case_sensitive)
        if reader.peek() is not None and reader.peek().token_type == TokenType.DOT:
            raise SqlError("ERROR: COPY into a table of another database is not supported; connect to that database")
    columns: list[str] = []
    if reader.peek() is not None and reader.peek().token_type == TokenType.L_PAREN:
        reader.next()
        while True:
            columns.append(reader.identifier(case_sensitive))
            token = reader.next()
            if token.token_type == TokenType.R_PAREN:
                break
            if token.token_type != TokenType.COMMA:
                raise _syntax_error(token)
    reader.expect_word("FROM")
    source = reader.string()
    command = CopyCommand(table=name, schema=schema, columns=tuple(columns), source=source)
    given: list[str] = []
    while not reader.done():
        keyword = reader.word()
        option = _OPTIONS.get(keyword)
        if option is None:
            raise _unknown_option(reader)
        reader.next()
        name_given = "FORMAT" if keyword in FORMATS or keyword in UNSUPPORTED_FORMATS else keyword
        if name_given in given and keyword != "FORMAT":
            raise SqlError(f"ERROR: conflicting or redundant options: {keyword} is given twice")
        given.append(name_given)
        command = option(reader, command)
    command = replace(command, given=frozenset(given))
    _check_source(command)
    _check_combinations(command)
    return command


def _unknown_option(reader: _Reader) -> SqlError:
    word = reader.word()
    if word in ("SSH", "READRATIO", "ENCRYPTED", "MASTER_SYMMETRIC_KEY", "SERIALIZETOJSON", "ENCODING"):
        return SqlError(f"ERROR: COPY parameter {word} is not supported by the local warehouse")
    token = reader.peek()
    return _syntax_error(token) if token is not None else SqlError("ERROR: syntax error at end of input")


def _check_source(command: CopyCommand) -> None:
    scheme = command.source.split("://", 1)[0].lower() if "://" in command.source else ""
    if scheme in ("dynamodb", "emr") or command.source.lower().startswith("arn:"):
        raise SqlError(f"ERROR: COPY from {scheme or 'this source'} is not supported by the local warehouse; load from Amazon S3")
    if scheme != "s3":
        raise SqlError("ERROR: LOAD source is not supported. (Hint: only S3 or DynamoDB or EMR based load is allowed)")
    if not command.bucket:
        raise SqlError(f"ERROR: invalid S3 URL '{command.source}': it names no bucket")
    if not command.authorization:
        raise SqlError(
            "ERROR: COPY from Amazon S3 needs authorization: IAM_ROLE 'arn' (or IAM_ROLE default), "
            "CREDENTIALS '...', or ACCESS_KEY_ID and SECRET_ACCESS_KEY"
        )


def _check_combinations(command: CopyCommand) -> None:
    """The rules of the parameter pages on what cannot go together."""
    given = command.given
    if command.format == "CSV" and ({"ESCAPE", "REMOVEQUOTES"} & given):
        raise SqlError("ERROR: CSV cannot be used with ESCAPE or REMOVEQUOTES")
    if "QUOTE" in given and command.format != "CSV":
        raise SqlError("ERROR: QUOTE can only be used with CSV")
    if command.format == "JSON":
        refused = sorted({"DELIMITER", "ESCAPE", "FILLRECORD", "IGNOREBLANKLINES", "NULL", "REMOVEQUOTES"} & given)
        if refused:
            shown = "NULL AS" if refused[0] == "NULL" else refused[0]
            raise SqlError(f"ERROR: {shown} argument is not supported for JSON based COPY")
    if command.format == "PARQUET":
        # "COPY from columnar data formats": only these parameters go with PARQUET.
        allowed = {"FORMAT", "IAM_ROLE", "CREDENTIALS", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN",
                   "REGION", "MANIFEST", "ACCEPTANYDATE", "ACCEPTINVCHARS", "EXPLICIT_IDS", "FILLRECORD",
                   "TRUNCATECOLUMNS", "COMPUPDATE", "STATUPDATE", "COMPROWS", "NOLOAD"}
        refused = sorted(given - allowed)
        if refused:
            raise SqlError(f"ERROR: {refused[0]} is not a valid option for COPY from PARQUET")
    if command.ignore_all_errors and "MAXERROR" in given:
        raise SqlError("ERROR: IGNOREALLERRORS cannot be used with MAXERROR")
    if command.format == "CSV" and len(command.field_delimiter) != 1:
        raise SqlError("ERROR: CSV needs a single-character DELIMITER")
    if command.field_delimiter == command.quote and command.format == "CSV":
        raise SqlError("ERROR: COPY delimiter and quote must be different")


# --- the parameters ------------------------------------------------------------------------------

Option = Callable[[_Reader, CopyCommand], CopyCommand]


def _flag(**changes: object) -> Option:
    def option(reader: _Reader, command: CopyCommand) -> CopyCommand:
        return replace(command, **changes)  # type: ignore[arg-type]

    return option


def _iam_role(reader: _Reader, command: CopyCommand) -> CopyCommand:
    if reader.word() == "DEFAULT":
        reader.next()
    else:
        reader.string()  # one role ARN, or a comma-separated chain of them
    return replace(command, authorization="IAM_ROLE")


def _credentials(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    reader.string()  # aws_iam_role=... or aws_access_key_id=...;aws_secret_access_key=...
    return replace(command, authorization="CREDENTIALS")


def _with_credentials(reader: _Reader, command: CopyCommand) -> CopyCommand:
    """The older spelling ``WITH CREDENTIALS [AS] '...'``."""
    reader.expect_word("CREDENTIALS")
    return _credentials(reader, command)


def _access_key(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    reader.string()
    return replace(command, authorization="ACCESS_KEY_ID")


def _skip_string(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    reader.string()
    return command


def _region(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    return replace(command, region=reader.string())


def _manifest(reader: _Reader, command: CopyCommand) -> CopyCommand:
    if reader.word() == "VERBOSE":
        reader.next()
    return replace(command, manifest=True)


def _format(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    keyword = reader.word()
    if keyword not in FORMATS + UNSUPPORTED_FORMATS:
        token = reader.peek()
        raise _syntax_error(token) if token is not None else SqlError("ERROR: syntax error at end of input")
    reader.next()
    return _format_named(keyword)(reader, command)


def _format_named(keyword: str) -> Option:
    def option(reader: _Reader, command: CopyCommand) -> CopyCommand:
        if keyword in UNSUPPORTED_FORMATS:
            raise SqlError(f"ERROR: COPY format {keyword} is not supported by the local warehouse (CSV, JSON, PARQUET and delimited text are)")
        if command.format != "TEXT" and command.format != keyword:
            raise SqlError(f"ERROR: conflicting or redundant options: {command.format} and {keyword}")
        if keyword == "JSON":
            reader.skip_as()
            peeked = reader.peek()
            option_text = reader.string() if peeked is not None and peeked.token_type == TokenType.STRING else "auto"
            return replace(command, format="JSON", json_option=_json_option(option_text))
        if keyword == "CSV" and reader.word() == "QUOTE":
            reader.next()
            return _quote(reader, replace(command, format="CSV"))
        return replace(command, format=keyword)

    return option


def _json_option(text: str) -> str:
    if text in ("auto", "auto ignorecase") or text.startswith("s3://"):
        return text
    if text.lower() in ("auto", "auto ignorecase"):
        # "The 'auto' ... keywords are case-sensitive."
        raise SqlError(f"ERROR: JSON option '{text}' is not valid: write 'auto' or 'auto ignorecase' in lower case")
    if text == "noshred":
        raise SqlError("ERROR: JSON 'noshred' (loading whole documents into SUPER) is not supported by the local warehouse")
    raise SqlError(f"ERROR: JSON option '{text}' is not valid: use 'auto', 'auto ignorecase' or the s3:// URL of a JSONPaths file")


def _quote(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    quote = reader.string()
    if len(quote) != 1:
        raise SqlError("ERROR: QUOTE must be a single character")
    return replace(command, quote=quote)


def _delimiter(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    delimiter = _unescape(reader.string())
    if not delimiter:
        raise SqlError("ERROR: DELIMITER cannot be empty")
    return replace(command, delimiter=delimiter)


def _unescape(text: str) -> str:
    """DELIMITER's spelling of characters: '\\t' is a tab, '\\ddd' an octal code."""
    text = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)
    return text.replace("\\t", "\t")


def _compression(keyword: str) -> Option:
    def option(reader: _Reader, command: CopyCommand) -> CopyCommand:
        if keyword in ("LZOP", "ZSTD"):
            raise SqlError(f"ERROR: {keyword} compression is not supported by the local warehouse (GZIP and BZIP2 are)")
        if command.compression is not None:
            raise SqlError(f"ERROR: conflicting or redundant options: {command.compression} and {keyword}")
        return replace(command, compression=keyword)

    return option


def _ignore_header(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    return replace(command, ignore_header=reader.number())


def _null_as(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    text = reader.string()
    if text in ("\\0", "\\000"):
        text = "\0"
    return replace(command, null_as=text)


def _accept_inv_chars(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    peeked = reader.peek()
    replacement = reader.string() if peeked is not None and peeked.token_type == TokenType.STRING else "?"
    if len(replacement) != 1 or not 0 < ord(replacement) < 128:
        raise SqlError("ERROR: ACCEPTINVCHARS replacement must be one ASCII character other than NUL")
    return replace(command, accept_inv_chars=replacement)


def _date_format(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    return replace(command, date_format=reader.string())


def _time_format(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    return replace(command, time_format=reader.string())


def _max_error(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.skip_as()
    count = reader.number()
    # Above the limit Redshift uses the limit and says so in an INFO message.
    return replace(command, max_error=min(count, MAX_MAXERROR))


def _on_off(reader: _Reader, command: CopyCommand) -> CopyCommand:
    """COMPUPDATE / STATUPDATE [ON | OFF | TRUE | FALSE | PRESET]: storage tuning, no effect here."""
    if reader.word() in ("ON", "OFF", "TRUE", "FALSE", "PRESET"):
        reader.next()
    return command


def _comprows(reader: _Reader, command: CopyCommand) -> CopyCommand:
    reader.number()
    return command


_OPTIONS: dict[str, Option] = {
    "IAM_ROLE": _iam_role,
    "CREDENTIALS": _credentials,
    "WITH": _with_credentials,
    "ACCESS_KEY_ID": _access_key,
    "SECRET_ACCESS_KEY": _skip_string,
    "SESSION_TOKEN": _skip_string,
    "REGION": _region,
    "MANIFEST": _manifest,
    "FORMAT": _format,
    **{keyword: _format_named(keyword) for keyword in FORMATS + UNSUPPORTED_FORMATS if keyword != "TEXT"},
    "QUOTE": _quote,
    "DELIMITER": _delimiter,
    **{keyword: _compression(keyword) for keyword in COMPRESSIONS},
    "IGNOREHEADER": _ignore_header,
    "NULL": _null_as,
    "EMPTYASNULL": _flag(empty_as_null=True),
    "BLANKSASNULL": _flag(blanks_as_null=True),
    "TRIMBLANKS": _flag(trim_blanks=True),
    "TRUNCATECOLUMNS": _flag(truncate_columns=True),
    "ACCEPTINVCHARS": _accept_inv_chars,
    "ACCEPTANYDATE": _flag(accept_any_date=True),
    "DATEFORMAT": _date_format,
    "TIMEFORMAT": _time_format,
    "MAXERROR": _max_error,
    "IGNOREALLERRORS": _flag(ignore_all_errors=True),
    "FILLRECORD": _flag(fill_record=True),
    "IGNOREBLANKLINES": _flag(ignore_blank_lines=True),
    "REMOVEQUOTES": _flag(remove_quotes=True),
    "ESCAPE": _flag(escape=True),
    "EXPLICIT_IDS": _flag(explicit_ids=True),
    "ROUNDEC": _flag(round_decimals=True),
    "NOLOAD": _flag(no_load=True),
    "COMPUPDATE": _on_off,
    "STATUPDATE": _on_off,
    "COMPROWS": _comprows,
}
