"""The contract tables: every input the five factors may read, and nothing more.

Amounts are in the bureau's one reporting currency; dates are calendar dates and
timestamps are UTC without a zone. The order of ``TABLES`` is a valid load order:
every table comes after the tables it references.
"""

from __future__ import annotations

from openbureau.contract.schema import Check, Field, Table

PERSON = Field(
    "person_id",
    "string",
    "The bureau's pseudonymous id of the person.",
    references="people.person_id",
    example="P00000001",
)


def _amount(name: str, description: str, *, required: bool = True) -> Field:
    return Field(name, "float", description, required=required, minimum=0.0, example="120.50")


def _date(name: str, description: str, *, required: bool = True) -> Field:
    return Field(
        name, "date", description, required=required, not_in_future=True, example="2024-03-31"
    )


def _order(first: str, then: str) -> Check:
    return Check(
        name=f"{then}_not_before_{first}",
        sql=f"{then} >= {first}",
        field=then,
        message=f"{then} is before {first}",
    )


PEOPLE = Table(
    name="people",
    factor="identity",
    description=(
        "One row per person known to the bureau. Only what the identity factor needs; "
        "no name, address line, or protected attribute is held."
    ),
    fields=(
        Field(
            "person_id",
            "string",
            "The bureau's pseudonymous id of the person.",
            example="P00000001",
        ),
        Field(
            "birth_year",
            "int",
            "Year of birth, for file-age and thin-file segments.",
            required=False,
            minimum=1900,
            maximum=2100,
            example="1988",
        ),
        Field(
            "country",
            "string",
            "ISO 3166-1 alpha-2 country of residence; picks the jurisdiction's policy pack.",
            required=False,
            example="DE",
        ),
        _date("first_seen", "When the person's file was opened at the bureau."),
    ),
    key=("person_id",),
)

ACCOUNTS = Table(
    name="accounts",
    factor="history",
    description="Credit accounts: loans, cards, credit lines, instalment plans, mortgages.",
    fields=(
        Field(
            "account_id",
            "string",
            "Id of the account, unique across lenders.",
            example="A00000001-01",
        ),
        PERSON,
        Field(
            "kind",
            "string",
            "Type of credit.",
            enum=("loan", "card", "credit_line", "instalment", "mortgage"),
            example="card",
        ),
        Field("lender", "string", "Who extended the credit.", required=False, example="bank-17"),
        _date("opened", "Date the account was opened."),
        _date("closed", "Date the account was closed; empty while open.", required=False),
        _amount(
            "credit_limit", "Limit of a revolving account (card, credit line).", required=False
        ),
        _amount(
            "principal", "Amount lent for an instalment account (loan, mortgage).", required=False
        ),
        Field(
            "term_months",
            "int",
            "Contractual term of an instalment account.",
            required=False,
            minimum=1,
            maximum=600,
            example="36",
        ),
    ),
    key=("account_id",),
    checks=(_order("opened", "closed"),),
)

REPAYMENTS = Table(
    name="repayments",
    factor="history",
    description=(
        "One row per scheduled payment of a credit account (an instalment, or a card "
        "statement's minimum due) with what was actually paid. An unpaid instalment has "
        "an empty paid_date."
    ),
    fields=(
        Field(
            "account_id",
            "string",
            "The account this payment belongs to.",
            references="accounts.account_id",
            example="A00000001-01",
        ),
        _date("due_date", "Date the payment was due."),
        _amount("amount_due", "Amount that was due."),
        _date(
            "paid_date",
            "Date it was paid (last part, if paid in parts); empty if unpaid.",
            required=False,
        ),
        _amount("amount_paid", "Amount paid towards this due amount; 0 if unpaid.", required=False),
        _amount("balance", "Outstanding balance on the account at the due date.", required=False),
    ),
    key=("account_id", "due_date"),
)

BILLS = Table(
    name="bills",
    factor="history",
    description="Non-credit bills whose punctuality shows payment habits: utilities, "
    "phone, rent, internet, insurance, tax.",
    fields=(
        Field("bill_id", "string", "Id of the bill.", example="B00000001-0001"),
        PERSON,
        Field(
            "kind",
            "string",
            "What the bill is for.",
            enum=("utility", "phone", "rent", "internet", "insurance", "tax"),
            example="phone",
        ),
        _date("due_date", "Date the bill was due."),
        _amount("amount_due", "Amount billed."),
        _date("paid_date", "Date it was paid; empty if unpaid.", required=False),
        _amount("amount_paid", "Amount paid; 0 if unpaid.", required=False),
    ),
    key=("bill_id",),
)

PUBLIC_RECORDS = Table(
    name="public_records",
    factor="history",
    description=(
        "Public-record defaults such as court judgments for unpaid debt. They count "
        "only until the expiry the jurisdiction's policy pack sets."
    ),
    fields=(
        Field(
            "record_id",
            "string",
            "Id of the record (e.g. the court case number).",
            example="J2023-0001",
        ),
        PERSON,
        Field(
            "kind",
            "string",
            "Type of public record.",
            enum=("court_judgment", "bankruptcy", "tax_lien"),
            example="court_judgment",
        ),
        _date("filed_date", "Date the judgment was entered or the case filed."),
        _amount("amount", "Amount adjudged or owed."),
        _date(
            "satisfied_date",
            "Date it was satisfied (paid or discharged); empty if not.",
            required=False,
        ),
        Field(
            "court",
            "string",
            "Court or registry that holds the record.",
            required=False,
            example="Amtsgericht Mitte",
        ),
    ),
    key=("record_id",),
    checks=(_order("filed_date", "satisfied_date"),),
)

# Merchant categories stop short of anything that reveals a protected trait
# (medical, religious, political, union dues): such spending never enters a model.
MERCHANT_CATEGORIES = (
    "groceries",
    "dining",
    "transport",
    "fuel",
    "travel",
    "utilities",
    "telecom",
    "clothing",
    "electronics",
    "home",
    "education",
    "entertainment",
    "gaming",
    "gambling",
    "cash_withdrawal",
    "transfer",
    "financial_services",
    "other",
)

TRANSACTIONS = Table(
    name="transactions",
    factor="behavior",
    description="Card and account transactions. Only the category of a merchant is held, "
    "never its name or the content of a purchase.",
    fields=(
        Field("txn_id", "string", "Id of the transaction.", example="T00000001-000001"),
        PERSON,
        Field(
            "ts",
            "timestamp",
            "When it happened (UTC).",
            not_in_future=True,
            example="2024-03-31 14:05:00",
        ),
        _amount("amount", "Amount, always positive; see direction."),
        Field(
            "direction",
            "string",
            "debit = money out, credit = refund or money in.",
            enum=("debit", "credit"),
            example="debit",
        ),
        Field(
            "merchant_category",
            "string",
            "Category of the merchant or counterparty.",
            enum=MERCHANT_CATEGORIES,
            example="groceries",
        ),
        Field(
            "channel",
            "string",
            "How it was made.",
            enum=("card_present", "online", "mobile", "transfer", "atm", "direct_debit"),
            example="online",
        ),
    ),
    key=("txn_id",),
)

BALANCES = Table(
    name="balances",
    factor="capacity",
    description="End-of-period balances of deposit and investment accounts. An overdrawn "
    "current account may be negative; nothing else may.",
    fields=(
        PERSON,
        _date("as_of", "Date of the balance."),
        Field(
            "account_kind",
            "string",
            "Kind of account.",
            enum=("current", "savings", "investment", "wallet"),
            example="current",
        ),
        Field("balance", "float", "Balance on that date.", example="1530.00"),
    ),
    key=("person_id", "as_of", "account_kind"),
    checks=(
        Check(
            "only_current_overdrawn",
            "balance >= 0 OR account_kind = 'current'",
            "balance",
            "balance is negative on a non-current account",
        ),
    ),
)

INCOMES = Table(
    name="incomes",
    factor="capacity",
    description="Income observations with how they were established.",
    fields=(
        PERSON,
        _date("as_of", "Date the income was established."),
        _amount("monthly_income", "Monthly net income."),
        Field(
            "source",
            "string",
            "How it was established.",
            enum=("payroll", "tax_return", "bank_statement", "self_declared"),
            example="payroll",
        ),
        Field("verified", "bool", "Whether the bureau verified it at the source.", example="true"),
    ),
    key=("person_id", "as_of", "source"),
)

IDENTITY_VERIFICATIONS = Table(
    name="identity_verifications",
    factor="identity",
    description="Checks of facts about the person. Biometric checks are not held.",
    fields=(
        PERSON,
        Field(
            "kind",
            "string",
            "What was verified.",
            enum=("phone", "email", "national_id", "passport", "bank_account", "address"),
            example="phone",
        ),
        _date("verified_at", "When the check was made."),
        Field(
            "status",
            "string",
            "Outcome of the check.",
            enum=("verified", "failed", "revoked"),
            example="verified",
        ),
    ),
    key=("person_id", "kind", "verified_at"),
)

ADDRESSES = Table(
    name="addresses",
    factor="identity",
    description="Where a person lived and when, at region level only (no street address).",
    fields=(
        PERSON,
        _date("since", "Date the person moved in."),
        _date("until", "Date the person moved out; empty for the current address.", required=False),
        Field(
            "region",
            "string",
            "Coarse region (e.g. a postcode district).",
            required=False,
            example="10115",
        ),
        Field(
            "housing",
            "string",
            "Tenure of the home.",
            enum=("own", "rent", "family", "other"),
            required=False,
            example="rent",
        ),
    ),
    key=("person_id", "since"),
    checks=(_order("since", "until"),),
)

EMPLOYMENT = Table(
    name="employment",
    factor="identity",
    description="Employment spells.",
    fields=(
        PERSON,
        _date("since", "Start of the spell."),
        _date("until", "End of the spell; empty if current.", required=False),
        Field(
            "status",
            "string",
            "Kind of work.",
            enum=("employed", "self_employed", "student", "retired", "unemployed"),
            example="employed",
        ),
        Field(
            "sector",
            "string",
            "Economic sector (e.g. a NACE section letter).",
            required=False,
            example="J",
        ),
    ),
    key=("person_id", "since"),
    checks=(_order("since", "until"),),
)

RELATIONSHIPS = Table(
    name="relationships",
    factor="network",
    description=(
        "Relationships between two people. Only relationships both people consented to "
        "may feed the network factor; both consents are recorded here."
    ),
    fields=(
        Field(
            "person_a", "string", "One person.", references="people.person_id", example="P00000001"
        ),
        Field(
            "person_b",
            "string",
            "The other person.",
            references="people.person_id",
            example="P00000002",
        ),
        Field(
            "kind",
            "string",
            "Kind of relationship.",
            enum=("family", "friend", "colleague", "business", "other"),
            example="friend",
        ),
        _date("since", "When the relationship was first recorded."),
        Field("consent_a", "bool", "Whether person_a consented to its use.", example="true"),
        Field("consent_b", "bool", "Whether person_b consented to its use.", example="false"),
        Field(
            "interactions",
            "int",
            "Number of interactions (transfers, messages' count only, never content) recorded.",
            minimum=0,
            example="12",
        ),
    ),
    key=("person_a", "person_b", "kind"),
    checks=(
        Check(
            "each_pair_once",
            "person_a < person_b",
            "person_b",
            "relationships are undirected: list each pair once with person_a < person_b "
            "(and never a person with themselves)",
        ),
    ),
)

OUTCOMES = Table(
    name="outcomes",
    factor="label",
    description=(
        "Default events. Outcomes in the window after as_of are training labels and never "
        "inputs. Outcomes dated before as_of are recorded defaults: they enter the network "
        "factor only in aggregate, as bounded shares over a person's consented contacts, "
        "never the person's own features and never revealing which contact defaulted."
    ),
    fields=(
        PERSON,
        _date("event_date", "Date of the event."),
        Field(
            "kind",
            "string",
            "What happened.",
            enum=("default_90dpd", "charge_off", "bankruptcy"),
            example="default_90dpd",
        ),
        Field(
            "account_id",
            "string",
            "The account concerned, if any.",
            required=False,
            references="accounts.account_id",
            example="A00000001-01",
        ),
    ),
    key=("person_id", "event_date", "kind"),
)

TABLES: tuple[Table, ...] = (
    PEOPLE,
    ACCOUNTS,
    REPAYMENTS,
    BILLS,
    PUBLIC_RECORDS,
    TRANSACTIONS,
    BALANCES,
    INCOMES,
    IDENTITY_VERIFICATIONS,
    ADDRESSES,
    EMPLOYMENT,
    RELATIONSHIPS,
    OUTCOMES,
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def get_table(name: str) -> Table:
    """The contract table called ``name``, or a ValueError listing the valid names."""
    try:
        return TABLES_BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unknown contract table {name!r}; expected one of {', '.join(TABLES_BY_NAME)}"
        ) from None
