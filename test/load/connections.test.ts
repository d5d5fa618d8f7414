// How many connections each driver opens when its load starts: what a target sets up ahead of the load
// (Target.openConnections; the kube target's port-forward tunnels).
import { describe, expect, it } from 'vitest';
import { AutocannonDriver } from '../../src/load/autocannon.ts';
import type { LoadPlan } from '../../src/load/driver.ts';
import { K6Driver } from '../../src/load/k6.ts';
import { plan as basePlan } from './helpers.ts';

/** 20 connections for 200 requests unless overridden. */
const plan = (overrides: Partial<LoadPlan>): LoadPlan =>
  basePlan('http://127.0.0.1:1', { model: { kind: 'closed', connections: 20 }, durationMs: undefined, totalRequests: 200, ...overrides });

describe('connections a driver opens at the start of its load', () => {
  it('autocannon: the closed model one per connection, never more than requests; the open model one per request a second, up to 100', () => {
    const driver = new AutocannonDriver();
    expect(driver.connections(plan({}))).toBe(20);
    expect(driver.connections(plan({ totalRequests: 5 }))).toBe(5);
    expect(driver.connections(plan({ model: { kind: 'open', rate: 7 }, totalRequests: undefined, durationMs: 2000 }))).toBe(7);
    expect(driver.connections(plan({ model: { kind: 'open', rate: 300 }, totalRequests: undefined, durationMs: 2000 }))).toBe(100);
  });

  it("k6: one per VU — the closed model's VUs (never more than iterations), the open model's pre-allocated ones, never more than requests", () => {
    const driver = new K6Driver();
    expect(driver.connections(plan({}))).toBe(20);
    expect(driver.connections(plan({ totalRequests: 5 }))).toBe(5);
    expect(driver.connections(plan({ totalRequests: undefined, durationMs: 2000 }))).toBe(20);
    expect(driver.connections(plan({ model: { kind: 'open', rate: 100 }, totalRequests: undefined, durationMs: 2000 }))).toBe(50);
    // rate 2 for 1 s: 5 VUs pre-allocated, 2 requests at most.
    expect(driver.connections(plan({ model: { kind: 'open', rate: 2 }, totalRequests: undefined, durationMs: 1000 }))).toBe(2);
  });
});
