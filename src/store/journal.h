/* journal.h - a local, append-only journal of records the database could
 * not take yet (run records written while the database was down or its disk
 * full), kept in one file under DATA_DIR until they are replayed into it.
 *
 * A record is (key, text): the key is the run id, the text the record as
 * JSON. wf_journal_append returns once the record is on the disk
 * (fdatasync), so an answer given after it survives a crash of the server
 * or of the machine. The file is preallocated, so that a disk that fills up
 * after the journal was opened still takes records within that space.
 *
 * File format: a 16-byte head ("WFJRNL01" and the current epoch, a u64),
 * then records, each a 24-byte header (magic "JRN1", payload length, epoch,
 * CRC-32 of the payload, key length) and the payload (key, then text).
 * Reading stops at the first record that does not match (a torn write, or
 * an older epoch's leftovers): emptying the journal is one bump of the epoch.
 *
 * Thread-safety: every function may be called from any thread; replays are
 * serialised. One process holds the file at a time (an exclusive flock).
 *
 * Ownership: texts handed out are the caller's to free(). */
#ifndef WF_JOURNAL_H
#define WF_JOURNAL_H

#include <stddef.h>

typedef struct wf_journal wf_journal;

/* Opens or creates the journal file at `path` and reads the records it
 * holds. WF_EUNAVAIL when another process holds it; WF_EIO otherwise, with
 * err saying why. */
int wf_journal_open(const char *path, wf_journal **out, char *err, size_t errlen);
void wf_journal_close(wf_journal *j);

/* Appends one record, durable when it returns. WF_ENOSPC when the disk has
 * no room for it, WF_EIO, WF_ENOMEM. */
int wf_journal_append(wf_journal *j, const char *key, const char *text);

/* A copy of the text of the pending record `key`, or WF_ENOTFOUND. */
int wf_journal_get(wf_journal *j, const char *key, char **text);

/* Copies of the texts of every pending record, oldest first: *texts is
 * an array of *n strings, each and the array the caller's to free(). */
int wf_journal_texts(wf_journal *j, char ***texts, size_t *n);

/* Records not yet replayed. */
size_t wf_journal_pending(wf_journal *j);

/* Hands every pending record to put(ctx, key, text); a record for which put
 * returns 0 is replayed and forgotten. Once none is left the file is
 * emptied. Returns the number still pending. */
typedef int (*wf_journal_put_fn)(void *ctx, const char *key, const char *text);
size_t wf_journal_replay(wf_journal *j, wf_journal_put_fn put, void *ctx);

#endif
