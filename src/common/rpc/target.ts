/** Where a message goes, in Nova's terms: a topic (`conductor`, `compute`) and maybe one server of it. */
export interface Target {
  topic: string;
  /** A host name: the message goes to that server only (`compute.<host>`), not to any server of the topic. */
  server?: string;
}

/** The queue a target maps to: `topic`, or `topic.server`. */
export function queueName(target: Target): string {
  return target.server ? `${target.topic}.${target.server}` : target.topic;
}
