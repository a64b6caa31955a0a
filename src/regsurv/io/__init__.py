"""regsurv.io: read, write and validate NCDB Participant User Files (the only file reader).

- `load_dictionary()`: the PUF data dictionary (fields, positions, codes, sentinels).
- `scan_puf` / `read_puf`: any PUF file with dictionary types; `write_puf`: back to a file.
- `validate_puf`: a `ValidationReport` (missing fields, unknown codes, sentinels, duplicates).
- `check_integrity`: refuse ragged, truncated or conflicting rows before an analysis.
- `convert_puf`: stream a PUF to Parquet.
"""

from regsurv.io.dictionary import Layout, LayoutField, PufDictionary, PufField, load_dictionary
from regsurv.io.errors import PufError
from regsurv.io.integrity import IntegrityReport, check_integrity
from regsurv.io.layout import parse_sas_layout
from regsurv.io.puf import INVALID_SUFFIX, convert_puf, read_puf, scan_puf, write_puf
from regsurv.io.validate import FieldCheck, Issue, ValidationReport, validate_puf

__all__ = [
    "INVALID_SUFFIX",
    "FieldCheck",
    "IntegrityReport",
    "Issue",
    "Layout",
    "LayoutField",
    "PufDictionary",
    "PufError",
    "PufField",
    "ValidationReport",
    "check_integrity",
    "convert_puf",
    "load_dictionary",
    "parse_sas_layout",
    "read_puf",
    "scan_puf",
    "validate_puf",
    "write_puf",
]
