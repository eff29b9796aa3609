// Content-Range answers to a resumed blob download (RFC 9110 §14.4): only a range that starts where
// we asked and runs to the blob's last byte is taken; anything else means "fetch it whole".
import * as assert from 'node:assert/strict';
import { contentRangeStart } from '../../../server/src/engine/registry/range';

describe('registry: Content-Range of resumed downloads', function () {
  it('takes START of "bytes START-(size-1)/size" and of an unknown total', function () {
    assert.equal(contentRangeStart('bytes 300000-999999/1000000', 1_000_000), 300_000);
    assert.equal(contentRangeStart('bytes 0-9/10', 10), 0);
    assert.equal(contentRangeStart('bytes 5-9/*', 10), 5);
    assert.equal(contentRangeStart('  BYTES 5-9/10 ', 10), 5);
  });

  it('refuses ranges that stop early, overrun, name another total or are malformed', function () {
    assert.equal(contentRangeStart('bytes 300000-400000/1000000', 1_000_000), undefined, 'stops early');
    assert.equal(contentRangeStart('bytes 5-10/10', 10), undefined, 'past the last byte');
    assert.equal(contentRangeStart('bytes 5-9/11', 10), undefined, 'another blob size');
    assert.equal(contentRangeStart('bytes 9-5/10', 10), undefined, 'backwards');
    assert.equal(contentRangeStart('bytes */10', 10), undefined, 'unsatisfied-range form');
    assert.equal(contentRangeStart('items 5-9/10', 10), undefined, 'another unit');
    assert.equal(contentRangeStart(undefined, 10), undefined, 'absent');
    assert.equal(contentRangeStart(['bytes 5-9/10'], 10), undefined, 'repeated header');
  });
});
