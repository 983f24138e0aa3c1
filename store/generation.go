package store

// Generation counts the changes readers may have cached: every committed
// group (events, registry records, recalls) and every checkpoint stored or
// cosigned. A reader that remembers the generation it last checked a
// cached view at knows, without a transaction, that nothing changed since
// while the generation is the same.
func (db *DB) Generation() uint64 { return db.generation.Load() }

func (db *DB) changed() { db.generation.Add(1) }
