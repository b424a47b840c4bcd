// The authenticated identity of an agent: which workspace, owner and
// template its records belong to. It always comes from the agent's token,
// never from a request.
export interface AgentIdentity {
  agentId: string;
  agentName: string;
  workspaceId: string;
  workspaceName: string;
  ownerId: string;
  ownerName: string;
  templateId: string;
  templateVersionId: string;
}
