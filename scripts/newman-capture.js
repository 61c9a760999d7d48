#!/usr/bin/env node
// Runs the Postman collection with Newman, as `newman run` would (the cli and
// json reporters), and keeps every request the run made with its response:
// the items' own and those their scripts send (pm.sendRequest). Newman's json
// export keeps one request per item, the last one, so a check of an item's
// script would hide the item's own response from scripts/check-responses.py.
//
//   node scripts/newman-capture.js COLLECTION ENVIRONMENT JSON_EXPORT CAPTURE [NAME=VALUE…]
//
// NAME=VALUE are environment variables of the run (`--env-var`). CAPTURE gets
// {"run": {"executions": [{"item": {"name"}, "request", "response"}, …]}}, the
// shape of the json export's executions. Exit status 1 when the run failed.
// Newman comes from the global install (scripts/run-newman.sh installs it).
'use strict';

const fs = require('fs');
const path = require('path');
const { execSync } = require('child_process');

const [collection, environment, jsonExport, capture, ...vars] = process.argv.slice(2);
if (!capture) {
    console.error('usage: newman-capture.js COLLECTION ENVIRONMENT JSON_EXPORT CAPTURE [NAME=VALUE…]');
    process.exit(2);
}
const newman = require(path.join(execSync('npm root -g').toString().trim(), 'newman'));

const envVar = vars.map((v) => {
    const at = v.indexOf('=');
    return { key: v.slice(0, at), value: v.slice(at + 1) };
});
const executions = [];
newman
    .run({
        collection: JSON.parse(fs.readFileSync(collection, 'utf8')),
        environment: JSON.parse(fs.readFileSync(environment, 'utf8')),
        envVar,
        reporters: ['cli', 'json'],
        reporter: { json: { export: jsonExport } },
        color: 'off',
    })
    .on('request', (err, args) => {
        if (err || !args.response) {
            return;
        }
        executions.push({
            item: { name: args.item && args.item.name },
            request: args.request.toJSON(),
            response: args.response.toJSON(),
        });
    })
    .on('done', (err, summary) => {
        fs.writeFileSync(capture, JSON.stringify({ run: { executions } }));
        process.exit(err || summary.run.failures.length ? 1 : 0);
    });
