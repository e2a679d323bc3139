/**
 * Compile-time check that protocol-types.ts (plain types for zod-free clients) and the zod schemas
 * in src/server/messages.ts describe the same messages: each pair must be assignable both ways, so
 * a field added, removed, renamed or retyped on one side only breaks `tsc`. Type-only imports:
 * this module compiles to an empty one.
 */
import type { z } from 'zod';
import type * as server from '../src/server/messages.js';
import type * as client from '../src/client/protocol-types.js';

/** True when A and B are assignable to each other (checked without distributing over unions). */
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/**
 * True when A and B are identical to the compiler. Stricter than mutual assignability, which lets
 * an optional field present on one side only slip through.
 */
type Identical<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Equals<A, B> = MutuallyAssignable<A, B> extends true ? Identical<A, B> : false;
/** Fails to compile unless T is `true`. */
type Assert<T extends true> = T;

type Out<S extends z.ZodType> = z.infer<S>;

export type _ProtocolChecks = [
  Assert<Equals<typeof client.PROTOCOL_VERSION, typeof server.PROTOCOL_VERSION>>,
  Assert<Equals<client.ProtocolVersion, typeof server.PROTOCOL_VERSION>>,
  Assert<Equals<typeof client.TOPICS, typeof server.TOPICS>>,
  Assert<Equals<client.Topic, server.Topic>>,
  Assert<Equals<client.SessionState, Out<typeof server.statusMessage>['state']>>,

  // server -> client, one by one (so a failure names the message) and as the union
  Assert<Equals<client.HelloMessage, Out<typeof server.helloMessage>>>,
  Assert<Equals<client.DecisionMessage, Out<typeof server.decisionMessage>>>,
  Assert<Equals<client.CommandMessage, Out<typeof server.commandMessage>>>,
  Assert<Equals<client.CueMessage, Out<typeof server.cueMessage>>>,
  Assert<Equals<client.SignalMessage, Out<typeof server.signalMessage>>>,
  Assert<Equals<client.SpectrumMessage, Out<typeof server.spectrumMessage>>>,
  Assert<Equals<client.StatsMessage, Out<typeof server.statsMessage>>>,
  Assert<Equals<client.RetrievalMessage, Out<typeof server.retrievalMessage>>>,
  Assert<Equals<client.EmotionMessage, Out<typeof server.emotionMessage>>>,
  Assert<Equals<client.StatusMessage, Out<typeof server.statusMessage>>>,
  Assert<Equals<client.ErrorMessage, Out<typeof server.errorMessage>>>,
  Assert<Equals<client.PongMessage, Out<typeof server.pongMessage>>>,
  Assert<Equals<client.ServerMessage, Out<typeof server.serverMessage>>>,
  Assert<Equals<client.ServerMessageType, server.ServerMessage['type']>>,

  // client -> server
  Assert<Equals<client.PingMessage, Out<typeof server.pingMessage>>>,
  Assert<Equals<client.SubscribeMessage, Out<typeof server.subscribeMessage>>>,
  Assert<Equals<client.UnsubscribeMessage, Out<typeof server.unsubscribeMessage>>>,
  Assert<Equals<client.MarkerMessage, Out<typeof server.markerMessage>>>,
  Assert<Equals<client.CalibrationMessage, Out<typeof server.calibrationMessage>>>,
  Assert<Equals<client.PauseMessage, Out<typeof server.pauseMessage>>>,
  Assert<Equals<client.ResumeMessage, Out<typeof server.resumeMessage>>>,
  Assert<Equals<client.ClientMessage, server.ClientMessage>>,
];
