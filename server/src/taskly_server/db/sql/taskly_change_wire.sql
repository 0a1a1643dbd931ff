-- taskly_change_wire: the BEFORE INSERT trigger of `changes` (trigger `changes_wire`, created by
-- migration 0014): every row written (taskly_record_changes, or any other insert) gets its wire
-- form from taskly_change_json, once; reads never render a change again.
CREATE OR REPLACE FUNCTION taskly_change_wire() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.wire := taskly_change_json(NEW.seq, NEW.workspace_id, NEW.entity_type, NEW.entity_id, NEW.op,
                                   NEW.version, NEW.changes, NEW.data, NEW.actor_type, NEW.actor_id,
                                   NEW.actor_name, NEW.delivery_id, NEW.mutation_id, NEW.conflicts,
                                   NEW.created_at);
    RETURN NEW;
END $$;
