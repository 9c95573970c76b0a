#!/usr/bin/env node
// Cross-check helper for tests/unit/test_segmentation_calculator.py.
// Reads a JSON array of message bodies on stdin and prints a JSON array of
// {encoding, segments} objects, one per body, using Twilio's sms-segments-calculator
// (SegmentedMessage with encoding 'auto' and Smart Encoding off).
'use strict';

const { SegmentedMessage } = require('sms-segments-calculator');

const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  const bodies = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!Array.isArray(bodies)) {
    throw new TypeError('stdin must be a JSON array of strings');
  }
  const results = bodies.map((body) => {
    const message = new SegmentedMessage(body, 'auto', false);
    return { encoding: message.encodingName, segments: message.segmentsCount };
  });
  process.stdout.write(JSON.stringify(results));
});
