import { BodyBudget, BodyBudgetError } from './body-budget.ts';

describe('a part of a lease that grows and shrinks (an event of a stream, held until its end)', () => {
  test('holds what it is set to, takes the growth, gives back the rest', () => {
    const budget = new BodyBudget(100);
    const lease = budget.lease();
    lease.take(10); // the request's own body, beside the part
    const part = lease.part();
    part(30);
    expect(budget.held).toBe(40);
    part(50);
    expect(budget.held).toBe(60);
    part(5);
    expect(budget.held).toBe(15);
    part(0);
    expect(budget.held).toBe(10);
    lease.release();
    expect(budget.held).toBe(0);
  });

  test('growth that does not fit throws, and the part keeps what it held until released', () => {
    const budget = new BodyBudget(100);
    const other = budget.lease();
    other.take(70);
    const lease = budget.lease();
    const part = lease.part();
    part(20);
    expect(() => part(40)).toThrow(BodyBudgetError);
    expect(budget.held).toBe(90);
    lease.release();
    expect(budget.held).toBe(70);
    lease.release(); // safe twice
    expect(budget.held).toBe(70);
  });
});
