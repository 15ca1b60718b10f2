// Starts the CongoDB server of @push.rocks/smartmongo on 127.0.0.1 at a
// random port, writes the port to PORT_FILE once it listens, and stops on
// SIGTERM. Usage: node start.mjs PORT_FILE CONGODB_DIR
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [portFile, congoDir] = process.argv.slice(2);
if (!portFile || !congoDir) {
	console.error('usage: node start.mjs PORT_FILE CONGODB_DIR');
	process.exit(2);
}
const { CongoServer, QueryEngine } = await import(
	pathToFileURL(join(congoDir, 'index.js')).href);
// Gap of the test server: it sorts strings with localeCompare; MongoDB's
// default (simple) collation compares them binary, as SQLite does.
const compareValues = QueryEngine.compareValues;
QueryEngine.compareValues = function (a, b) {
	if (typeof a === 'string' && typeof b === 'string')
		return a < b ? -1 : a > b ? 1 : 0;
	return compareValues.call(this, a, b);
};
const server = new CongoServer({ port: 0, host: '127.0.0.1' });
await server.start();
// CongoServer reports the port it was given (0); ask the socket.
const port = server.server.address().port;
writeFileSync(portFile + '.tmp', `${port}\n`);
renameSync(portFile + '.tmp', portFile);
const stop = async () => {
	await server.stop();
	process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
