"""What a generated repository is made of: business domains, source tables, the
planned DAGs and their steps, and the plan of the whole repository.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

NORTHSTAR = Path(__file__).resolve().parents[2] / "examples" / "northstar"
PROJECT = "scale"
MAIL = "scale.example"


# -- the business: domains, their teams and source tables ----------------------------------------


@dataclass(frozen=True)
class Domain:
    name: str
    team: str  # the Airflow owner and the team e-mail's local part
    system: str  # postgres | s3 | kafka
    tables: tuple[tuple[str, str], ...]  # (table, primary key column)


DOMAINS = (
    Domain(
        "commerce",
        "commerce-data",
        "postgres",
        (
            ("orders", "order_id"),
            ("order_items", "order_item_id"),
            ("carts", "cart_id"),
            ("returns", "return_id"),
            ("promotions", "promotion_id"),
            ("gift_cards", "gift_card_id"),
        ),
    ),
    Domain(
        "supply",
        "supply-chain-data",
        "s3",
        (
            ("inventory_movements", "movement_id"),
            ("purchase_orders", "purchase_order_id"),
            ("shipments", "shipment_id"),
            ("stock_counts", "stock_count_id"),
            ("supplier_invoices", "supplier_invoice_id"),
            ("transfers", "transfer_id"),
        ),
    ),
    Domain(
        "marketing",
        "marketing-data",
        "kafka",
        (
            ("campaign_events", "campaign_event_id"),
            ("ad_spend", "ad_spend_id"),
            ("email_events", "email_event_id"),
            ("web_sessions", "session_id"),
            ("coupons", "coupon_id"),
            ("referrals", "referral_id"),
        ),
    ),
    Domain(
        "finance",
        "finance-data",
        "postgres",
        (
            ("invoices", "invoice_id"),
            ("payments", "payment_id"),
            ("ledger_entries", "ledger_entry_id"),
            ("payouts", "payout_id"),
            ("tax_lines", "tax_line_id"),
            ("chargebacks", "chargeback_id"),
        ),
    ),
    Domain(
        "crm",
        "crm-data",
        "kafka",
        (
            ("customers", "customer_id"),
            ("support_tickets", "ticket_id"),
            ("loyalty_events", "loyalty_event_id"),
            ("surveys", "survey_id"),
            ("contacts", "contact_id"),
            ("consents", "consent_id"),
        ),
    ),
    Domain(
        "logistics",
        "logistics-data",
        "s3",
        (
            ("deliveries", "delivery_id"),
            ("parcel_scans", "scan_id"),
            ("routes", "route_id"),
            ("pickups", "pickup_id"),
            ("carrier_rates", "carrier_rate_id"),
            ("depot_events", "depot_event_id"),
        ),
    ),
)
PLATFORM_TEAM = "data-platform"
STATUSES = ("open", "completed", "cancelled")


@dataclass(frozen=True)
class Table:
    domain: Domain
    name: str
    key: str

    @property
    def location(self) -> str:
        return f"{self.domain.system}/{self.name}"

    @property
    def staging(self) -> str:
        return f"stg_{self.domain.name}__{self.name}"


def owner_const(team: str) -> str:
    """``commerce-data`` -> ``COMMERCE_OWNER``, ``data-platform`` -> ``PLATFORM_OWNER``."""
    words = team.split("-")
    return (words[1] if words[0] == "data" else words[0]).upper() + "_OWNER"


def source_tables(count: int) -> list[Table]:
    out = []
    per_round = len(DOMAINS) * len(DOMAINS[0].tables)
    for i in range(count):
        domain = DOMAINS[i % len(DOMAINS)]
        name, key = domain.tables[(i // len(DOMAINS)) % len(domain.tables)]
        if i >= per_round:
            name = f"{name}_r{i // per_round + 1}"
        out.append(Table(domain, name, key))
    return out


# -- the plan ------------------------------------------------------------------------------------


@dataclass
class Step:
    task_id: str
    doc: str
    op: str = "python"  # python | sensor | trigger | bash
    kwargs: list[str] = field(default_factory=list)


@dataclass
class Dag:
    dag_id: str
    kind: str
    team: str
    doc: str
    description: str
    schedule: str  # Python source of the ``schedule`` argument
    subject: str
    steps: list[Step]
    tags: list[str]
    constants: list[str] = field(default_factory=list)
    common: list[str] = field(default_factory=list)  # extra names imported from scale_common
    stdlib: list[str] = field(default_factory=list)  # extra stdlib import lines


@dataclass
class Plan:
    tables: list[Table]
    staging: list[str]
    intermediate: list[tuple[str, list[int]]]  # name, indexes of the staging tables it reads
    marts: list[tuple[str, int, str]]  # name, index of its intermediate model, flavor
    jobs: list[tuple[str, int, str]]  # name, index of its table, flavor
    modules: list[tuple[str, str, str]]  # folder name, domain, purpose
    dags: list[Dag] = field(default_factory=list)
