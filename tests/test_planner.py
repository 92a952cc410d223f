"""The emission planner, case by case: what people did to a task decides what the worker may do.
Pure: ledger rows, HubSpot's view of the tasks and the rules' wishes in, a change set out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from integrations.hubspot.types import TaskFields, TaskState
from worker.cache.ledger import LedgerEntry
from worker.tasks.planner import Desired, field_updates, plan_changes, replaced_block

DUE = datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc)
LATER = datetime(2027, 2, 1, 8, 0, tzinfo=timezone.utc)
BLOCK = "Renewal of Acme on 2027-03-01.<br>\nCreated by renewal-worker · ref rw1-0123456789abcdef · k1"


def entry(**changes) -> LedgerEntry:
    base = LedgerEntry(
        key="k1", rule="renewal.milestone", object_type="subscription", object_id="501", company_id="101",
        subscription_id="501", anchor_date=date(2027, 3, 1), generation=1, marker="rw1-0123456789abcdef",
        state="open", task_id="9001", owner_id="7", fingerprint="f1", subject="Renewal in 45 days: Acme",
        priority="MEDIUM", due_at=DUE, attempts=1, body_block=BLOCK, step=date(2027, 1, 15),
    )
    return replace(base, **changes)


def task(**changes) -> TaskState:
    base = TaskState(id="9001", status="NOT_STARTED", owner_id="7", due_at=DUE, priority="MEDIUM", subject="Renewal in 45 days: Acme", body=BLOCK)
    return replace(base, **changes)


def desired(**changes) -> Desired:
    base = Desired(
        key="k1", create=True, fingerprint="f1", subject="Renewal in 45 days: Acme", block=BLOCK, owner_id="7",
        due_at=DUE, priority="MEDIUM", step=date(2027, 1, 15),
    )
    return replace(base, **changes)


def no_reason(_entry) -> str:
    raise AssertionError("nothing should be closed")


# --------------------------------------------------------------------------- what people did


def test_an_untouched_task_whose_reason_stands_is_left_alone():
    changes = plan_changes({"k1": entry()}, {"9001": task()}, {"k1": desired()}, no_reason)
    assert (changes.creates, changes.updates, changes.closes, changes.kept) == ([], {}, {}, {})


def test_a_task_a_person_completed_is_recorded_and_never_created_again():
    changes = plan_changes({"k1": entry()}, {"9001": task(status="COMPLETED")}, {"k1": desired()}, no_reason)
    assert changes.completed_by_people == ["k1"] and changes.creates == [] and changes.updates == {}
    settled = plan_changes({"k1": entry(state="completed_in_hubspot")}, {}, {"k1": desired()}, no_reason)
    assert settled.creates == [] and settled.updates == {}


def test_a_task_a_person_deleted_is_dismissed_and_never_created_again():
    changes = plan_changes({"k1": entry()}, {}, {"k1": desired()}, no_reason)
    assert changes.dismissed_by_people == ["k1"] and changes.creates == []
    again = plan_changes({"k1": entry(state="dismissed")}, {}, {"k1": desired()}, no_reason)
    assert again.creates == [] and again.dismissed_by_people == []


def test_a_later_milestone_is_a_new_reason_and_gets_its_own_task():
    wanted = {"k1": desired(), "k2": desired(key="k2")}
    changes = plan_changes({"k1": entry(state="completed_in_hubspot")}, {}, wanted, no_reason)
    assert changes.creates == ["k2"]


def test_a_reason_that_went_away_closes_the_task_unless_a_person_already_did():
    reason = lambda e: f"{e.key}: the renewal date moved"  # noqa: E731
    changes = plan_changes({"k1": entry()}, {"9001": task()}, {}, reason)
    assert changes.closes == {"k1": "k1: the renewal date moved"}
    done = plan_changes({"k1": entry()}, {"9001": task(status="COMPLETED")}, {}, reason)
    assert done.closes == {} and done.completed_by_people == ["k1"]


def test_a_task_the_worker_closed_comes_back_as_a_new_generation_when_its_reason_returns():
    changes = plan_changes({"k1": entry(state="closed")}, {}, {"k1": desired()}, no_reason)
    assert changes.creates == ["k1"]


def test_new_pending_and_not_to_be_created_reminders():
    changes = plan_changes(
        {"k2": entry(key="k2", state="pending", task_id=None), "k3": entry(key="k3", state="pending", task_id=None)},
        {},
        {"k1": desired(), "k2": desired(key="k2"), "k4": desired(key="k4", create=False)},
        no_reason,
    )
    assert sorted(changes.creates) == ["k1", "k2"] and changes.orphans == ["k3"]


# --------------------------------------------------------------------------- fields people own


def test_new_numbers_rewrite_the_fields_nobody_touched():
    wanted = desired(fingerprint="f2", subject="Renewal in 45 days: Acme (new name)", priority="HIGH", block=BLOCK.replace("Acme", "Acme Ltd"))
    update, kept = field_updates(entry(), task(), wanted)
    assert update == TaskFields(subject=wanted.subject, priority="HIGH", body=wanted.block) and kept == []


def test_a_person_reassigning_redating_reprioritising_or_rewording_keeps_their_choice():
    wanted = desired(fingerprint="f2", subject="New subject", owner_id="8", priority="HIGH", due_at=LATER, step=date(2027, 2, 1))
    person = task(owner_id="99", due_at=datetime(2027, 1, 20, 8, tzinfo=timezone.utc), priority="LOW", subject="Call Ana first")
    update, kept = field_updates(entry(), person, wanted)
    assert update is None and sorted(kept) == ["due_at", "owner_id", "priority", "subject"]


def test_the_worker_brings_the_owner_up_to_date_where_nobody_changed_it():
    update, _ = field_updates(entry(), task(), desired(owner_id="8"))
    assert update == TaskFields(owner_id="8")


def test_a_task_the_rules_now_leave_unassigned_is_unassigned_once():
    update, _ = field_updates(entry(), task(), desired(owner_id=None))
    assert update == TaskFields(owner_id="")
    assert field_updates(entry(owner_id=None), task(owner_id=None), desired(owner_id=None)) == (None, [])


def test_the_due_date_moves_when_the_step_moved_but_not_because_a_task_is_overdue():
    moved, _ = field_updates(entry(), task(), desired(due_at=LATER, step=date(2027, 2, 1)))
    assert moved == TaskFields(due_at=LATER)
    overdue, kept = field_updates(entry(), task(), desired(due_at=LATER))  # same step, a later "not before"
    assert overdue is None and kept == []


def test_a_note_written_around_the_workers_block_survives_new_numbers():
    noted = f"<p>Called Ana, she wants a discount.</p>{BLOCK}<p>Follow up Friday.</p>"
    new_block = BLOCK.replace("2027-03-01", "2027-03-08")
    update, kept = field_updates(entry(), task(body=noted), desired(fingerprint="f2", block=new_block))
    assert update == TaskFields(body=f"<p>Called Ana, she wants a discount.</p>{new_block}<p>Follow up Friday.</p>") and kept == []


def test_wording_edited_inside_the_block_belongs_to_the_person():
    edited = BLOCK.replace("Renewal of Acme", "Renewal of Acme (ask for the CFO)")
    update, kept = field_updates(entry(), task(body=edited), desired(fingerprint="f2", block=BLOCK.replace("Acme", "Acme Ltd")))
    assert update is None and kept == ["body"]


def test_replacing_the_block():
    assert replaced_block("a" + BLOCK + "b", BLOCK, "NEW") == "aNEWb"
    assert replaced_block("edited", BLOCK, "NEW") is None
    assert replaced_block(None, BLOCK, "NEW") is None
    assert replaced_block(BLOCK, None, "NEW") is None  # a task from before blocks were recorded


def test_updates_are_planned_per_task_id():
    changes = plan_changes({"k1": entry()}, {"9001": task()}, {"k1": desired(priority="HIGH")}, no_reason)
    assert changes.updates == {"9001": TaskFields(priority="HIGH")} and changes.updated_keys == {"9001": "k1"}


# --------------------------------------------------------------------------- links that follow the client


def test_a_task_follows_its_subscription_to_another_company_and_its_primary_contact():
    from integrations.hubspot.types import AssociationMove
    from worker.tasks.planner import association_move

    here = entry(contact_id="201")
    assert association_move(here, "9001", desired(company_id="101", contact_id="201")) is None
    assert association_move(here, "9001", desired(company_id="102", contact_id="202")) == AssociationMove(
        "9001", add=(("companies", "102"), ("contacts", "202")), remove=(("companies", "101"), ("contacts", "201")),
    )
    # A new primary contact of the same client moves the contact link only; a deleted one is dropped.
    assert association_move(here, "9001", desired(company_id="101", contact_id="203")) == AssociationMove("9001", (("contacts", "203"),), (("contacts", "201"),))
    assert association_move(here, "9001", desired(company_id="101", contact_id=None)) == AssociationMove("9001", (), (("contacts", "201"),))


def test_a_row_from_before_contacts_were_recorded_learns_its_contact_without_a_move():
    from integrations.hubspot.types import AssociationMove
    from worker.tasks.planner import association_move

    legacy = entry(contact_id=None)
    assert association_move(legacy, "9001", desired(company_id="101", contact_id="201")) == AssociationMove("9001", (), ())
    changes = plan_changes({"k1": legacy}, {"9001": task()}, {"k1": desired(company_id="102", contact_id="202")}, no_reason)
    assert changes.moves["k1"].add == (("companies", "102"), ("contacts", "202")) and changes.moves["k1"].remove == (("companies", "101"),)
