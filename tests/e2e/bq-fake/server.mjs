// A fake of the BigQuery REST surface espsync uses, for the end-to-end
// tests. SQL runs for real in DuckDB after a small translation (backtick
// names, CURRENT_TIMESTAMP(), UNIX_SECONDS, TIMESTAMP_SECONDS,
// SAFE_DIVIDE (FLOAT64, or exact NUMERIC), CAST(… AS NUMERIC), DATE_SUB,
// DATE_ADD, TO_JSON_STRING, JSON_EXTRACT_STRING_ARRAY, REGEXP_CONTAINS,
// UNNEST aliases, named parameters). tables.patch replaces a view's query.
// Also serves the OAuth token endpoint (checks the RS256 JWT against the
// test key) and a metadata server.
//
// usage: node server.mjs PORT_FILE [--key SA_KEY_JSON] [--refresh TOKEN]
// Control: POST /_fake/faults {"http5xx":N,"rateLimit":N,"unauth":N,
//   "accessDenied":N, "jobError":{"count":N,"reason":R,"message":M},
//   "hold":{"at":POINT,"skip":N}}; GET /_fake/stats.
// hold: the (skip+1)-th request at POINT is never answered (stats.held
// counts it), so a test can SIGKILL espsync exactly there. POINT: "load"
// (a load job's upload: the load never runs), "merge" (jobs.insert of a
// flush script, BEGIN TRANSACTION…: it never runs), "poll-load" and
// "poll-merge" (jobs.get of such a job, which has already run).
// A project other than the key's project_id is 404 notFound.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const portFile = args[0];
let keyFile = null, refreshToken = null;
for (let i = 1; i < args.length; i++) {
	if (args[i] === '--key') keyFile = args[++i];
	else if (args[i] === '--refresh') refreshToken = args[++i];
}
const saKey = keyFile ? JSON.parse(fs.readFileSync(keyFile, 'utf8')) : null;
const pubKey = saKey ? crypto.createPublicKey(saKey.private_key) : null;
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bq-fake-'));

const db = await (await DuckDBInstance.create(':memory:')).connect();
await db.run("SET default_null_order = 'nulls_first'");
await db.run('CREATE MACRO unix_seconds(t) AS CAST(floor(epoch_us(t) / 1000000) AS BIGINT)');
await db.run('CREATE MACRO timestamp_seconds(s) AS make_timestamp(CAST(s AS BIGINT) * 1000000)');
// SAFE_DIVIDE: FLOAT64 for INT64/FLOAT64 operands; NUMERIC (DECIMAL(38,9)
// here) when one is NUMERIC, the exact quotient rounded half away from
// zero to 9 places, as BigQuery's NUMERIC division (DuckDB's own DECIMAL
// division would return a DOUBLE). Exact while |a| * 10^18 fits a HUGEINT.
await db.run(`CREATE MACRO safe_divide(a DECIMAL(38,9), b DECIMAL(38,9)) AS
	CASE WHEN b = 0 THEN NULL ELSE CAST(CAST(sign(a) * sign(b) *
		((2 * abs(CAST(a * 1000000000 AS HUGEINT)) * 1000000000 + abs(CAST(b * 1000000000 AS HUGEINT)))
		 // (2 * abs(CAST(b * 1000000000 AS HUGEINT)))) AS DECIMAL(38,0))
		* CAST(0.000000001 AS DECIMAL(38,9)) AS DECIMAL(38,9)) END,
	(a DOUBLE, b DOUBLE) AS CASE WHEN b = 0 THEN NULL ELSE a / b END`);
await db.run('CREATE MACRO _now() AS make_timestamp(epoch_us(now()))');
// DATE_SUB / DATE_ADD (DATE, INTERVAL n part): a DATE, as BigQuery's
await db.run('CREATE MACRO bq_date_sub(d, i) AS CAST(d - i AS DATE)');
await db.run('CREATE MACRO bq_date_add(d, i) AS CAST(d + i AS DATE)');
await db.run('CREATE MACRO to_json_string(x) AS CAST(to_json(x) AS VARCHAR)');
await db.run('CREATE MACRO regexp_contains(s, p) AS regexp_matches(s, p)');
// BigQuery's JSON_EXTRACT_STRING_ARRAY: NULL for text that is not a JSON array
await db.run("CREATE MACRO json_extract_string_array(j) AS CASE WHEN json_valid(j) AND json_type(j) = 'ARRAY' THEN CAST(json_extract_string(j, '$[*]') AS VARCHAR[]) END");

const tokens = new Map(); // token -> expiry ms
const datasets = new Map(); // id -> resource
const tables = new Map(); // "ds.t" -> resource
const jobs = new Map(); // id -> {job, result}
const uploads = new Map(); // upload id -> {job, total, chunks}
const faults = { http5xx: 0, rateLimit: 0, unauth: 0, accessDenied: 0,
	jobError: null, hold: null };
// jobs: every job (jobs.insert and jobs.query); inserts: jobs.insert
// requests (uploads included); polls: jobs.get requests
const stats = { requests: 0, jobs: 0, inserts: 0, polls: 0, loads: 0,
	queries: 0, tokens: 0, dml: 0, unauthorized: 0, held: 0 };
let serial = 0;

function send(res, status, body, headers = {}) {
	const text = body === undefined ? '' : JSON.stringify(body);
	res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
	res.end(text);
}
function apiError(res, status, reason, message) {
	send(res, status, { error: { code: status, message,
		errors: [{ domain: 'global', reason, message }] } });
}
class BqError extends Error {
	constructor(status, reason, message) {
		super(message); this.status = status; this.reason = reason;
	}
}

const TYPES = { STRING: 'VARCHAR', INT64: 'BIGINT', INTEGER: 'BIGINT',
	TIMESTAMP: 'TIMESTAMP', DATE: 'DATE', BOOL: 'BOOLEAN',
	BOOLEAN: 'BOOLEAN', FLOAT64: 'DOUBLE', FLOAT: 'DOUBLE', JSON: 'JSON',
	NUMERIC: 'DECIMAL(38,9)' };
const q = (s) => '"' + String(s).replace(/"/g, '""') + '"';
const lit = (s) => "'" + String(s).replace(/'/g, "''") + "'";

function translate(sql) {
	return sql
		.replace(/`([^`.]+)\.([^`.]+)\.([^`]+)`/g, (m, p, d, t) => `${q(d)}.${q(t)}`)
		.replace(/CURRENT_TIMESTAMP\(\)/gi, '_now()')
		.replace(/\bDATE_(SUB|ADD)\(/gi, (m, op) => `bq_date_${op.toLowerCase()}(`)
		// NUMERIC: 38 digits, 9 after the point (DuckDB's NUMERIC has 3)
		.replace(/\bAS\s+NUMERIC\b/gi, 'AS DECIMAL(38,9)')
		// BigQuery's "UNNEST(a) AS x" names the element; DuckDB's names
		// the table
		.replace(/(UNNEST\((?:[^()]|\([^()]*\))*\)) AS ([A-Za-z_][A-Za-z0-9_]*)/gi, '$1 AS $2($2)');
}
function bindParams(sql, params) {
	const byName = new Map((params || []).map((p) => [p.name, p]));
	// @name outside quotes ('jane@example.com' is text, not a parameter)
	return sql.replace(/('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|@([A-Za-z_][A-Za-z0-9_]*)/g, (m, quoted, name) => {
		if (quoted) return quoted;
		const p = byName.get(name);
		if (!p) throw new BqError(400, 'invalidQuery', `Query parameter '${name}' not found`);
		const t = p.parameterType?.type;
		if (t === 'ARRAY') {
			const vals = (p.parameterValue?.arrayValues || []).map((v) => lit(v.value));
			return `CAST([${vals.join(',')}] AS VARCHAR[])`;
		}
		const v = p.parameterValue?.value;
		const dt = TYPES[t] || 'VARCHAR';
		if (v === undefined || v === null) return `CAST(NULL AS ${dt})`;
		return `CAST(${lit(v)} AS ${dt})`;
	});
}

function tableKey(ds, t) { return `${ds}.${t}`; }

async function createTable(p, ds, body) {
	const t = body.tableReference.tableId;
	const key = tableKey(ds, t);
	if (tables.has(key)) throw new BqError(409, 'duplicate', `Already Exists: Table ${p}:${ds}.${t}`);
	if (body.view) {
		await db.run(`CREATE VIEW ${q(ds)}.${q(t)} AS ${translate(body.view.query)}`);
	} else {
		const cols = (body.schema?.fields || []).map((f) =>
			`${q(f.name)} ${f.mode === 'REPEATED' ? (TYPES[f.type] || 'VARCHAR') + '[]' : TYPES[f.type] || 'VARCHAR'}${f.mode === 'REQUIRED' ? ' NOT NULL' : ''}`);
		await db.run(`CREATE TABLE ${q(ds)}.${q(t)} (${cols.join(', ')})`);
	}
	const res = { kind: 'bigquery#table', id: `${p}:${ds}.${t}`, ...body,
		type: body.view ? 'VIEW' : 'TABLE', creationTime: String(Date.now()) };
	tables.set(key, res);
	return res;
}

// tables.patch: the fields given replace the resource's. A schema may only
// add NULLABLE (or REPEATED) columns at the end, as BigQuery allows; a
// column removed, retyped or added REQUIRED is refused. Labels merge
// (null removes one).
async function patchTable(p, ds, t, body) {
	if (body.schema) {
		const old = t.schema?.fields || [], neu = body.schema.fields || [];
		const name = t.tableReference.tableId;
		if (t.type === 'VIEW') throw new BqError(400, 'invalid', 'Cannot change the schema of a view');
		old.forEach((f, i) => {
			const g = neu[i];
			if (!g || g.name !== f.name)
				throw new BqError(400, 'invalid', `Provided Schema does not match Table ${p}:${ds}.${name}. Field ${f.name} is missing in new schema`);
			if (g.type !== f.type || (g.mode || 'NULLABLE') !== (f.mode || 'NULLABLE'))
				throw new BqError(400, 'invalid', `Provided Schema does not match Table ${p}:${ds}.${name}. Field ${f.name} has changed type or mode`);
		});
		for (const g of neu.slice(old.length)) {
			if (g.mode === 'REQUIRED')
				throw new BqError(400, 'invalid', `Provided Schema does not match Table ${p}:${ds}.${name}. Cannot add required fields to an existing schema. (field: ${g.name})`);
			const ty = g.mode === 'REPEATED' ? (TYPES[g.type] || 'VARCHAR') + '[]' : TYPES[g.type] || 'VARCHAR';
			await db.run(`ALTER TABLE ${q(ds)}.${q(name)} ADD COLUMN ${q(g.name)} ${ty}`);
		}
		t.schema = { fields: neu };
	}
	if (body.view) {
		if (t.type !== 'VIEW') throw new BqError(400, 'invalid', 'Cannot change a table into a view');
		const name = t.tableReference.tableId;
		await db.run(`CREATE OR REPLACE VIEW ${q(ds)}.${q(name)} AS ${translate(body.view.query)}`);
		t.view = body.view;
	}
	if (body.labels) {
		t.labels = { ...(t.labels || {}) };
		for (const [k, v] of Object.entries(body.labels)) {
			if (v === null) delete t.labels[k]; else t.labels[k] = v;
		}
	}
	for (const k of ['description', 'expirationTime', 'friendlyName'])
		if (k in body) t[k] = body[k];
	stats.patches = (stats.patches || 0) + 1;
	return t;
}

function rowsJson(reader) {
	const names = reader.columnNames();
	const types = reader.columnTypes().map(String);
	const rows = reader.getRowsJson();
	const fields = names.map((n, i) => ({ name: n,
		type: /INT/.test(types[i]) ? 'INTEGER' : /TIMESTAMP/.test(types[i]) ? 'TIMESTAMP'
			: /DATE/.test(types[i]) ? 'DATE' : /DECIMAL/.test(types[i]) ? 'NUMERIC'
			: /DOUBLE|FLOAT/.test(types[i]) ? 'FLOAT' : 'STRING' }));
	const out = rows.map((r) => ({ f: r.map((v) => ({ v: v === null ? null
		: Array.isArray(v) ? v.map((x) => ({ v: x === null ? null : String(x) }))
		: typeof v === 'object' ? JSON.stringify(v) : String(v) })) }));
	return { schema: { fields }, rows: out };
}

function splitScript(sql) {
	return sql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter((s) => s.length);
}

// Runs a query or script; returns the last SELECT's rows (if any).
async function runQuery(cfg) {
	const stmts = splitScript(cfg.query);
	let inTx = false, result = null, affected = 0;
	try {
		for (const raw of stmts) {
			if (/^BEGIN( TRANSACTION)?$/i.test(raw)) { await db.run('BEGIN TRANSACTION'); inTx = true; continue; }
			if (/^COMMIT( TRANSACTION)?$/i.test(raw)) { await db.run('COMMIT'); inTx = false; continue; }
			if (/^ROLLBACK( TRANSACTION)?$/i.test(raw)) { await db.run('ROLLBACK'); inTx = false; continue; }
			const sql = bindParams(translate(raw), cfg.queryParameters);
			if (/^\s*(SELECT|WITH)\b/i.test(sql)) {
				result = rowsJson(await db.runAndReadAll(sql));
			} else {
				stats.dml++;
				const r = await db.run(sql);
				affected += Number(r.rowsChanged || 0);
			}
		}
		if (inTx) { await db.run('ROLLBACK'); inTx = false; }
	} catch (e) {
		if (inTx) { try { await db.run('ROLLBACK'); } catch (e2) { /* none */ } }
		if (e instanceof BqError) throw e;
		const msg = String(e.message || e).split('\n')[0];
		const reason = /does not exist/i.test(msg) ? 'notFound' : 'invalidQuery';
		throw new BqError(reason === 'notFound' ? 404 : 400, reason, msg);
	}
	return { result, affected };
}

async function runLoad(p, cfg, data) {
	const dst = cfg.destinationTable;
	const key = tableKey(dst.datasetId, dst.tableId);
	const t = tables.get(key);
	if (!t) throw new BqError(404, 'notFound', `Not found: Table ${p}:${key}`);
	const fields = t.schema.fields;
	const names = new Set(fields.map((f) => f.name));
	const lines = data.toString('utf8').split('\n').filter((l) => l.trim().length);
	lines.forEach((l, i) => {
		let o;
		try { o = JSON.parse(l); } catch (e) {
			throw new BqError(400, 'invalid', `Error while reading data, error message: JSON parsing error in row starting at position ${i}`);
		}
		for (const k of Object.keys(o))
			if (!names.has(k) && !cfg.ignoreUnknownValues)
				throw new BqError(400, 'invalid', `Error while reading data, error message: JSON table encountered too many errors, giving up. Rows: ${i + 1}; no such field: ${k}.`);
		for (const f of fields)
			if (f.mode === 'REQUIRED' && (o[f.name] === undefined || o[f.name] === null))
				throw new BqError(400, 'invalid', `Missing required field: ${f.name}.`);
	});
	if (!lines.length) return 0;
	const file = path.join(tmpDir, `load-${++serial}.json`);
	fs.writeFileSync(file, lines.join('\n') + '\n');
	const cols = fields.map((f) => `${lit(f.name)}: ${lit(TYPES[f.type] || 'VARCHAR')}`).join(', ');
	try {
		await db.run(`INSERT INTO ${q(dst.datasetId)}.${q(dst.tableId)} BY NAME SELECT * FROM read_json(${lit(file)}, format = 'newline_delimited', columns = {${cols}})`);
	} catch (e) {
		throw new BqError(400, 'invalid', String(e.message || e).split('\n')[0]);
	} finally {
		fs.unlinkSync(file);
	}
	return lines.length;
}

// Runs a job (query or load); failures become status.errorResult.
async function runJob(p, job, data) {
	const ref = job.jobReference || {};
	if (!ref.jobId) ref.jobId = `fake_${++serial}`;
	if (jobs.has(ref.jobId)) throw new BqError(409, 'duplicate', `Already Exists: Job ${p}:${ref.location || 'US'}.${ref.jobId}`);
	stats.jobs++;
	const rec = { job: { kind: 'bigquery#job', id: `${p}:${ref.jobId}`,
		jobReference: { projectId: p, jobId: ref.jobId, location: ref.location || 'US' },
		configuration: job.configuration, status: { state: 'RUNNING' },
		statistics: { creationTime: String(Date.now()) } }, result: null, polls: 0 };
	jobs.set(ref.jobId, rec);
	try {
		if (job.configuration.load) {
			stats.loads++;
			const n = await runLoad(p, job.configuration.load, data || Buffer.alloc(0));
			rec.job.statistics.load = { outputRows: String(n), inputFileBytes: String(data ? data.length : 0) };
		} else {
			stats.queries++;
			if (faults.jobError && faults.jobError.count > 0) {
				faults.jobError.count--;
				throw new BqError(400, faults.jobError.reason || 'jobInternalError', faults.jobError.message || 'injected job error');
			}
			const { result, affected } = await runQuery(job.configuration.query);
			rec.result = result;
			rec.job.statistics.query = { numDmlAffectedRows: String(affected) };
		}
	} catch (e) {
		if (!(e instanceof BqError)) throw e;
		rec.job.status.errorResult = { reason: e.reason, message: e.message };
		rec.job.status.errors = [rec.job.status.errorResult];
	}
	rec.done = true;
	return rec;
}

function jobView(rec) {
	const j = JSON.parse(JSON.stringify(rec.job));
	j.status.state = rec.polls++ > 0 ? 'DONE' : 'RUNNING';
	if (j.status.state !== 'DONE') { delete j.status.errorResult; delete j.status.errors; }
	return j;
}

function queryPage(rec, pageToken, maxResults) {
	const res = rec.result || { schema: { fields: [] }, rows: [] };
	const start = pageToken ? parseInt(pageToken, 10) : 0;
	const n = maxResults ? parseInt(maxResults, 10) : 10000;
	const rows = res.rows.slice(start, start + n);
	const out = { kind: 'bigquery#queryResponse', jobReference: rec.job.jobReference,
		jobComplete: true, schema: res.schema, rows, totalRows: String(res.rows.length) };
	if (start + n < res.rows.length) out.pageToken = String(start + n);
	return out;
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
	});
}

function parseMultipart(ctype, body) {
	const m = /boundary="?([^";]+)"?/.exec(ctype || '');
	if (!m) throw new BqError(400, 'invalid', 'multipart boundary missing');
	const delim = Buffer.from('--' + m[1]);
	const parts = [];
	let pos = body.indexOf(delim);
	while (pos >= 0) {
		const start = pos + delim.length;
		if (body.slice(start, start + 2).toString() === '--') break;
		const next = body.indexOf(delim, start);
		if (next < 0) break;
		let part = body.slice(start, next);
		if (part.slice(0, 2).toString() === '\r\n') part = part.slice(2);
		const hdrEnd = part.indexOf('\r\n\r\n');
		let content = part.slice(hdrEnd + 4);
		if (content.slice(-2).toString() === '\r\n') content = content.slice(0, -2);
		parts.push(content);
		pos = next;
	}
	if (parts.length !== 2) throw new BqError(400, 'invalid', 'multipart body needs two parts');
	return { meta: JSON.parse(parts[0].toString('utf8')), data: parts[1] };
}

function verifyJwt(assertion) {
	const [h, p, s] = assertion.split('.');
	if (!s || !pubKey) return null;
	const ok = crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), pubKey, Buffer.from(s, 'base64url'));
	if (!ok) return null;
	const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
	const hdr = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
	const now = Date.now() / 1000;
	if (hdr.alg !== 'RS256' || claims.iss !== saKey.client_email || !(claims.exp > now) || claims.exp - claims.iat > 3600) return null;
	return claims;
}

function issueToken() {
	const tok = 'ya29.fake-' + crypto.randomBytes(12).toString('hex');
	tokens.set(tok, Date.now() + 3600 * 1000);
	stats.tokens++;
	return { access_token: tok, expires_in: 3599, token_type: 'Bearer' };
}

const isFlushScript = (cfg) => /^\s*BEGIN TRANSACTION/i.test(cfg?.query?.query || '');

// True when this request is the one a hold fault waits for: it is then
// left unanswered (the client hangs until the test kills it).
function held(point) {
	const h = faults.hold;
	if (!h || h.at !== point) return false;
	if ((h.skip || 0) > 0) { h.skip--; return false; }
	faults.hold = null;
	stats.held++;
	return true;
}

async function handle(req, res) {
	const url = new URL(req.url, 'http://x');
	const parts = url.pathname.split('/').filter(Boolean);
	const body = await readBody(req);
	if (url.pathname === '/_fake/faults' && req.method === 'POST') {
		Object.assign(faults, JSON.parse(body.toString() || '{}'));
		return send(res, 200, faults);
	}
	if (url.pathname === '/_fake/stats') return send(res, 200, { ...stats, tables: [...tables.keys()] });
	if (url.pathname === '/_fake/dump') {
		// every table of a dataset: {name: {types: {col: type}, rows: [...]}}
		const ds = url.searchParams.get('ds'), out = {};
		for (const [key, t] of tables) {
			if (!key.startsWith(ds + '.') || t.type !== 'TABLE') continue;
			const r = await db.runAndReadAll(`SELECT * FROM ${q(ds)}.${q(t.tableReference.tableId)}`);
			out[t.tableReference.tableId] = { types: Object.fromEntries(t.schema.fields.map((f) => [f.name, f.type])),
				rows: r.getRowObjectsJson() };
		}
		return send(res, 200, out);
	}
	if (url.pathname === '/_fake/sql' && req.method === 'POST') {
		const r = await db.runAndReadAll(translate(body.toString('utf8')));
		return send(res, 200, { columns: r.columnNames(), rows: r.getRowsJson() });
	}
	if (url.pathname === '/_fake/table' && req.method === 'POST') {
		// tests: make a table look like an earlier espsync's: drop
		// columns (body.drop) and set resource members (body.set)
		const key = url.searchParams.get('t'), t = tables.get(key);
		if (!t) return apiError(res, 404, 'notFound', 'no table');
		const b = JSON.parse(body.toString() || '{}');
		const [ds, name] = key.split('.');
		for (const c of b.drop || []) {
			await db.run(`ALTER TABLE ${q(ds)}.${q(name)} DROP COLUMN ${q(c)}`);
			t.schema.fields = t.schema.fields.filter((f) => f.name !== c);
		}
		Object.assign(t, b.set || {});
		return send(res, 200, t);
	}
	if (url.pathname === '/_fake/table') {
		const t = tables.get(url.searchParams.get('t'));
		return t ? send(res, 200, t) : apiError(res, 404, 'notFound', 'no table');
	}
	if (url.pathname === '/token' && req.method === 'POST') {
		const form = new URLSearchParams(body.toString());
		if (form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
			if (!verifyJwt(form.get('assertion') || ''))
				return send(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
			return send(res, 200, issueToken());
		}
		if (form.get('grant_type') === 'refresh_token') {
			if (!refreshToken || form.get('refresh_token') !== refreshToken)
				return send(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
			return send(res, 200, issueToken());
		}
		return send(res, 400, { error: 'unsupported_grant_type' });
	}
	if (parts[0] === 'computeMetadata') {
		if (req.headers['metadata-flavor'] !== 'Google')
			return send(res, 403, { error: 'Missing Metadata-Flavor: Google header' });
		if (url.pathname.endsWith('/service-accounts/default/token')) return send(res, 200, issueToken(), { 'Metadata-Flavor': 'Google' });
		if (url.pathname.endsWith('/service-accounts/default/email')) {
			res.writeHead(200, { 'Content-Type': 'text/plain', 'Metadata-Flavor': 'Google' });
			return res.end('fake-meta@example.iam.gserviceaccount.com');
		}
		return send(res, 404, {});
	}
	// --- the API: authorization, faults
	stats.requests++;
	const auth = req.headers.authorization || '';
	const tok = auth.startsWith('Bearer ') ? auth.slice(7) : '';
	if (faults.unauth > 0 && tokens.has(tok)) { faults.unauth--; tokens.delete(tok); }
	if (!tokens.has(tok) || tokens.get(tok) < Date.now()) {
		stats.unauthorized++;
		return send(res, 401, { error: { code: 401, message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.', errors: [{ domain: 'global', reason: 'authError', message: 'Invalid Credentials', location: 'Authorization', locationType: 'header' }], status: 'UNAUTHENTICATED' } });
	}
	if (faults.http5xx > 0) { faults.http5xx--; return apiError(res, 503, 'backendError', 'Error encountered during execution. Retrying may solve the problem.'); }
	if (faults.rateLimit > 0) { faults.rateLimit--; return apiError(res, 403, 'rateLimitExceeded', 'Exceeded rate limits: too many api requests per user per method for this user_method.'); }
	const isUpload = parts[0] === 'upload';
	const rest = isUpload ? parts.slice(3) : parts.slice(2); // after bigquery/v2
	if (parts[0] !== 'upload' && (parts[0] !== 'bigquery' || parts[1] !== 'v2')) return apiError(res, 404, 'notFound', 'Not found: URL');
	if (rest[0] !== 'projects') return apiError(res, 404, 'notFound', 'Not found: URL');
	const p = rest[1];
	if (saKey && p !== saKey.project_id) return apiError(res, 404, 'notFound', `Not found: Project ${p}`);
	if (faults.accessDenied > 0) {
		faults.accessDenied--;
		const ds = rest[2] === 'datasets' && rest[3] ? rest[3] : '';
		return apiError(res, 403, 'accessDenied', `Access Denied: Dataset ${p}:${ds}: Permission bigquery.tables.get denied on dataset ${p}:${ds} (or it may not exist).`);
	}
	const json = () => JSON.parse(body.toString('utf8') || '{}');
	try {
		if (isUpload) {
			const type = url.searchParams.get('uploadType');
			if (req.method === 'POST' && type === 'multipart') {
				const { meta, data } = parseMultipart(req.headers['content-type'], body);
				stats.inserts++;
				if (held('load')) return;
				const rec = await runJob(p, meta, data);
				return send(res, 200, jobView(rec));
			}
			if (req.method === 'POST' && type === 'resumable') {
				const meta = json();
				stats.inserts++;
				if (held('load')) return;
				if (meta.jobReference?.jobId && jobs.has(meta.jobReference.jobId))
					throw new BqError(409, 'duplicate', `Already Exists: Job ${p}:${meta.jobReference.jobId}`);
				const id = 'up' + (++serial);
				uploads.set(id, { meta, total: parseInt(req.headers['x-upload-content-length'] || '-1', 10), chunks: [], have: 0 });
				const host = req.headers.host;
				return send(res, 200, undefined, { Location: `http://${host}/upload/bigquery/v2/projects/${p}/jobs?uploadType=resumable&upload_id=${id}` });
			}
			if (req.method === 'PUT' && type === 'resumable') {
				const up = uploads.get(url.searchParams.get('upload_id'));
				if (!up) throw new BqError(404, 'notFound', 'upload session not found');
				const m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(req.headers['content-range'] || '');
				const start = m ? parseInt(m[1], 10) : 0;
				if (start > up.have) throw new BqError(400, 'invalid', 'chunk out of order');
				const chunk = body.slice(up.have - start);
				up.chunks.push(chunk); up.have += chunk.length;
				const total = m && m[3] !== '*' ? parseInt(m[3], 10) : up.have;
				if (up.have < total) return send(res, 308, undefined, { Range: `bytes=0-${up.have - 1}` });
				uploads.delete(url.searchParams.get('upload_id'));
				const rec = await runJob(p, up.meta, Buffer.concat(up.chunks));
				return send(res, 200, jobView(rec));
			}
			throw new BqError(400, 'invalid', 'unsupported upload');
		}
		// datasets
		if (rest[2] === 'datasets' && rest.length === 3 && req.method === 'POST') {
			const b = json(); const d = b.datasetReference.datasetId;
			if (datasets.has(d)) throw new BqError(409, 'duplicate', `Already Exists: Dataset ${p}:${d}`);
			await db.run(`CREATE SCHEMA ${q(d)}`);
			const r = { kind: 'bigquery#dataset', id: `${p}:${d}`, ...b, location: b.location || 'US' };
			datasets.set(d, r);
			return send(res, 200, r);
		}
		if (rest[2] === 'datasets' && rest.length >= 4) {
			const d = rest[3];
			if (!datasets.has(d)) throw new BqError(404, 'notFound', `Not found: Dataset ${p}:${d}`);
			if (rest.length === 4 && req.method === 'GET') return send(res, 200, datasets.get(d));
			if (rest[4] === 'tables' && rest.length === 5 && req.method === 'POST') return send(res, 200, await createTable(p, d, json()));
			if (rest[4] === 'tables' && rest.length === 6) {
				const key = tableKey(d, rest[5]);
				const t = tables.get(key);
				if (!t || (t.expirationTime && parseInt(t.expirationTime, 10) < Date.now()))
					throw new BqError(404, 'notFound', `Not found: Table ${p}:${key}`);
				if (req.method === 'GET') return send(res, 200, t);
				if (req.method === 'PATCH') return send(res, 200, await patchTable(p, d, t, json()));
				if (req.method === 'DELETE') {
					await db.run(`DROP ${t.type === 'VIEW' ? 'VIEW' : 'TABLE'} ${q(d)}.${q(rest[5])}`);
					tables.delete(key);
					res.writeHead(204); return res.end();
				}
			}
		}
		// jobs
		if (rest[2] === 'jobs' && rest.length === 3 && req.method === 'POST') {
			const job = json();
			stats.inserts++;
			if (isFlushScript(job.configuration) && held('merge')) return;
			const rec = await runJob(p, job, null);
			return send(res, 200, jobView(rec));
		}
		if (rest[2] === 'jobs' && rest.length === 4 && req.method === 'GET') {
			const rec = jobs.get(rest[3]);
			if (!rec) throw new BqError(404, 'notFound', `Not found: Job ${p}:${rest[3]}`);
			stats.polls++;
			const cfg = rec.job.configuration;
			if (held(cfg.load ? 'poll-load' : isFlushScript(cfg) ? 'poll-merge' : 'poll-query')) return;
			return send(res, 200, jobView(rec));
		}
		if (rest[2] === 'queries' && rest.length === 3 && req.method === 'POST') {
			const b = json();
			const rec = await runJob(p, { jobReference: { location: b.location },
				configuration: { query: { query: b.query, queryParameters: b.queryParameters, useLegacySql: b.useLegacySql } } }, null);
			const er = rec.job.status.errorResult;
			if (er) throw new BqError(er.reason === 'notFound' ? 404 : 400, er.reason, er.message);
			return send(res, 200, queryPage(rec, null, b.maxResults));
		}
		if (rest[2] === 'queries' && rest.length === 4 && req.method === 'GET') {
			const rec = jobs.get(rest[3]);
			if (!rec) throw new BqError(404, 'notFound', `Not found: Job ${p}:${rest[3]}`);
			return send(res, 200, queryPage(rec, url.searchParams.get('pageToken'), url.searchParams.get('maxResults')));
		}
		return apiError(res, 404, 'notFound', `Not found: ${req.method} ${url.pathname}`);
	} catch (e) {
		if (e instanceof BqError) return apiError(res, e.status, e.reason, e.message);
		console.error(e);
		return apiError(res, 500, 'internalError', String(e.message || e));
	}
}

// One request at a time: DuckDB work and job state stay in order.
let chain = Promise.resolve();
const server = http.createServer((req, res) => {
	chain = chain.then(() => handle(req, res)).catch((e) => {
		console.error(e);
		try { apiError(res, 500, 'internalError', String(e)); } catch (e2) { /* gone */ }
	});
});
server.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(portFile + '.tmp', String(server.address().port));
	fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => { fs.rmSync(tmpDir, { recursive: true, force: true }); process.exit(0); });
