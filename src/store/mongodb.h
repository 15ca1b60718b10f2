/* The MongoDB store backend (docs/architecture.md, "MongoDB schema"): the
 * earlier tool's campaigns and participants documents plus espsync's other
 * collections, written with unordered bulk upserts through libmongoc. */
#ifndef ESPSYNC_STORE_MONGODB_H
#define ESPSYNC_STORE_MONGODB_H

#include "store/store.h"

/* Database used when the URL names none (the earlier tool's default). */
#define STORE_MONGODB_DEFAULT_DB "emailoctopus_db"
/* Records per bulk write. */
#define STORE_MONGODB_BULK_MAX 1000

/* open() takes a mongodb:// or mongodb+srv:// connection string. */
extern const struct store_ops mongodb_store_ops;

/* Its entry in the store registry. */
extern const struct store_backend mongodb_store_backend;

#endif
