"""Why ingest refuses a file or quarantines a row: stable codes a pipeline can count."""

# File-level: the whole file is refused and nothing of it is stored.
FILE_REASONS = {
    "unknown_table": "the file name does not name a contract table",
    "unsupported_format": "not CSV, Parquet or JSON Lines",
    "empty_file": "the file holds no header or no data",
    "not_utf8": "text is not UTF-8",
    "wrong_delimiter": "CSV is not comma-separated",
    "missing_columns": "required columns are absent",
    "duplicate_columns": "a column name appears twice",
    "prohibited_columns": "a column carries a prohibited attribute",
    "corrupt_file": "the file is truncated or not in its format",
}

# Row-level: the row is kept in the quarantine with its reason.
ROW_REASONS = {
    "wrong_field_count": "the row has more or fewer fields than the header (truncated?)",
    "malformed_json": "the line is not a JSON object",
    "missing_value": "a required field is empty",
    "wrong_type": "a value cannot be read as its field's type",
    "negative_amount": "an amount is below zero",
    "out_of_range": "a number is outside its allowed range",
    "not_in_enum": "a value is not one of the allowed values",
    "future_date": "a date or time lies after the moment of ingest",
    "failed_check": "fields of the row contradict each other",
    "duplicate_key": "the row's key is already taken",
    "unknown_reference": "a referenced record does not exist (dangling foreign key)",
}
